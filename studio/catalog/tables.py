"""The model catalog and its prices, as data (../shared/PRICING.md is the source).

A price change is a one-line edit in PRICES. Credits are strings turned into Decimal once,
never floats. The quote logic in `quote.py` reads these tables and holds no prices itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

IMAGE = "image"
VIDEO = "video"

# Endpoints, named as the `quote` command and the Job record name them.
GENERATIONS = "images.generations"
EDITS = "images.edits"
VIDEOS = "videos.generations"
ENDPOINTS = (GENERATIONS, EDITS, VIDEOS)
ENDPOINT_PATHS = {
    GENERATIONS: "POST /v1/images/generations",
    EDITS: "POST /v1/images/edits",
    VIDEOS: "POST /v1/async/videos/generations",
}

# Image tiers by long edge (px). The 4K ceiling is per model (gpt-image-2 stops at 3840).
IMAGE_TIERS = ("512", "1K", "2K", "4K")
IMAGE_TIER_LONG_EDGE = {"512": 512, "1K": 1536, "2K": 2048, "4K": 4096}
# Gemini's tier keywords: a square of this side.
GEMINI_TIER_KEYWORDS = {"512": 512, "1K": 1024, "2K": 2048, "4K": 4096}

# Video resolutions by long edge (px).
VIDEO_RESOLUTIONS = ("720P", "1080P", "4K")
VIDEO_RESOLUTION_LONG_EDGE = {"720P": 1280, "1080P": 1920, "4K": 3840}

# The longest prompt any model takes, in characters.
PROMPT_MAX_LENGTH = 4000
# Images one edit may send: the first is edited, the others are references.
MAX_EDIT_IMAGES = 16

DEFAULT_IMAGE_SIZE = "1024x1024"
DEFAULT_VIDEO_SIZE = "1280x720"
DEFAULT_DURATION = 5
DURATION_RANGE = (1, 10)
# OpenAI's Videos API has defaults of its own, which its clients expect.
OPENAI_VIDEO_SECONDS = 4
OPENAI_VIDEO_SIZE = "720x1280"
N_RANGE = (1, 10)
# Smallest side we accept for any output; smaller is a typo, not a picture.
MIN_SIDE = 16

# OpenAI's image output options (catalog.quote.ImageOptions). None of them changes a price.
OUTPUT_FORMATS = ("png", "jpeg", "webp")
OUTPUT_COMPRESSION_RANGE = (0, 100)  # jpeg and webp quality, in percent
BACKGROUNDS = ("auto", "opaque", "transparent")
TRANSPARENT_FORMATS = ("png", "webp")
MODERATIONS = ("auto", "low")  # passed upstream
INPUT_FIDELITIES = ("low", "high")  # edits: passed upstream

# Ratio presets and the pixels each family renders them at (all at the standard/1K tier).
GEMINI_PRESETS = {
    "1:1": (1024, 1024),
    "16:9": (1344, 768),
    "9:16": (768, 1344),
    "4:3": (1184, 864),
    "3:4": (864, 1184),
    "3:2": (1248, 832),
    "2:3": (832, 1248),
}
GPT_IMAGE_2_PRESETS = {
    "1:1": (1024, 1024),
    "16:9": (1536, 864),
    "9:16": (864, 1536),
    "4:3": (1536, 1152),
    "3:4": (1152, 1536),
    "3:2": (1536, 1024),
    "2:3": (1024, 1536),
}
GPT_IMAGE_15_SIZES = {
    "1024x1024": (1024, 1024),
    "1536x1024": (1536, 1024),
    "1024x1536": (1024, 1536),
}
GPT_IMAGE_15_PRESETS = {"1:1": (1024, 1024), "3:2": (1536, 1024), "2:3": (1024, 1536)}
VIDEO_PRESETS = {"16:9": (1280, 720), "9:16": (720, 1280), "1:1": (720, 720)}

# gpt-image-2 custom sizes.
GPT_IMAGE_2_RULES = {
    "multiple": 16,
    "max_ratio": 3,
    "min_pixels": 655_360,
    "max_pixels": 8_294_400,
    "max_long_edge": 3840,
}

# Credits per output image (image models) or per second (video models):
# PRICES[model][quality][tier]. "*" is the only quality of models that ignore quality.
PRICES: dict[str, dict[str, dict[str, str]]] = {
    "gemini-2.5-flash-image": {"*": {"512": "2", "1K": "2"}},
    "gemini-3.1-flash-image-preview": {"*": {"512": "4", "1K": "4", "2K": "6", "4K": "8"}},
    "gemini-3-pro-image-preview": {"*": {"512": "8", "1K": "8", "2K": "8", "4K": "16"}},
    "gpt-image-2": {
        "low": {"1K": "1", "2K": "2", "4K": "4"},
        "medium": {"1K": "4", "2K": "17", "4K": "34"},
        "high": {"1K": "14", "2K": "67", "4K": "133"},
    },
    "veo": {
        "lite": {"720P": "1", "1080P": "1.6"},
        "fast": {"720P": "2", "1080P": "2.4", "4K": "6"},
        "standard": {"720P": "8", "1080P": "8", "4K": "12"},
    },
    "kling": {"*": {"720P": "2.24"}},
    "wan": {"*": {"720P": "2", "1080P": "3"}},
}
# GPT Image 1.5 bills as GPT Image 2's 1K row, and offers only 1K sizes.
PRICES["gpt-image-1.5"] = {q: {"1K": tiers["1K"]} for q, tiers in PRICES["gpt-image-2"].items()}


@dataclass(frozen=True)
class Model:
    id: str
    name: str
    kind: str
    best_for: str
    aliases: tuple[str, ...] = ()
    # How `size` is read: "gemini", "gpt-image-2", "gpt-image-1.5" or "video".
    size_rule: str = "gemini"
    # Accepted `quality` values; the first is the default. Empty: quality is ignored.
    qualities: tuple[str, ...] = ()
    # A quality billed as another (gpt-image: auto bills as high).
    billed_as: dict[str, str] = field(default_factory=dict)
    # Other names a quality is sent by, read as the quality they stand for (OpenAI's
    # standard and hd on the GPT models).
    quality_synonyms: dict[str, str] = field(default_factory=dict)
    # Tiers that have an id of their own in the upstream's credit table
    # ("gemini-3.1-flash-image-preview-2k"): that id is this model at that tier.
    tier_ids: tuple[str, ...] = ()
    # Seconds a job may take, end to end, before it is failed and its credits released.
    timeout: int = 300

    @property
    def endpoints(self) -> tuple[str, ...]:
        return (GENERATIONS, EDITS) if self.kind == IMAGE else (VIDEOS,)

    @property
    def prices(self) -> dict[str, dict[str, Decimal]]:
        return {
            q: {t: Decimal(c) for t, c in tiers.items()} for q, tiers in PRICES[self.id].items()
        }

    @property
    def tiers(self) -> tuple[str, ...]:
        """The tiers (images) or resolutions (video) this model offers at any quality."""
        offered = {tier for tiers in PRICES[self.id].values() for tier in tiers}
        order = IMAGE_TIERS if self.kind == IMAGE else VIDEO_RESOLUTIONS
        return tuple(t for t in order if t in offered)

    @property
    def default_quality(self) -> str | None:
        return self.qualities[0] if self.qualities else None

    def price_table(self) -> tuple[tuple[str, ...], list[tuple[str, list[Decimal | None]]]]:
        """Return (columns, rows) for showing every price: rows by quality, columns by tier."""
        columns = IMAGE_TIERS if self.kind == IMAGE else VIDEO_RESOLUTIONS
        rows = []
        for quality, by_tier in self.prices.items():
            names = [quality] + [a for a, q in self.billed_as.items() if q == quality]
            label = "any quality" if quality == "*" else " / ".join(names)
            rows.append((label, [by_tier.get(c) for c in columns]))
        return columns, rows

    @property
    def is_gpt_image(self) -> bool:
        return self.size_rule.startswith("gpt-image")

    @property
    def ids_by_tier(self) -> dict[str, str]:
        """{tier: the id that means this model at that tier}."""
        return {tier: f"{self.id}-{tier.lower()}" for tier in self.tier_ids}

    @property
    def min_price(self) -> Decimal:
        return min(c for tiers in self.prices.values() for c in tiers.values())


# DALL·E's quality names, which OpenAI's clients still send: read as the GPT models' own.
OPENAI_QUALITY_SYNONYMS = {"standard": "medium", "hd": "high"}

MODELS: dict[str, Model] = {
    m.id: m
    for m in (
        Model(
            "gemini-2.5-flash-image",
            "Gemini 2.5 Flash Image",
            IMAGE,
            "Fast Gemini image generation and editing",
            aliases=("nano-banana",),
        ),
        Model(
            "gemini-3.1-flash-image-preview",
            "Gemini 3.1 Flash Image Preview",
            IMAGE,
            "Size-controlled 512, standard, 2K and 4K outputs",
            aliases=("nano-banana-2",),
            tier_ids=("512", "2K", "4K"),
        ),
        Model(
            "gemini-3-pro-image-preview",
            "Gemini 3 Pro Image Preview",
            IMAGE,
            "Premium generation and edits with standard, 2K and 4K outputs",
            aliases=("nano-banana-pro",),
            tier_ids=("2K", "4K"),
        ),
        Model(
            "gpt-image-1.5",
            "GPT Image 1.5",
            IMAGE,
            "GPT image generation and editing with strong text rendering",
            size_rule="gpt-image-1.5",
            qualities=("auto", "low", "medium", "high"),
            billed_as={"auto": "high"},
            quality_synonyms=OPENAI_QUALITY_SYNONYMS,
        ),
        Model(
            "gpt-image-2",
            "GPT Image 2",
            IMAGE,
            "OpenAI quality tiers, custom sizes, prompt adherence",
            size_rule="gpt-image-2",
            qualities=("auto", "low", "medium", "high"),
            billed_as={"auto": "high"},
            quality_synonyms=OPENAI_QUALITY_SYNONYMS,
        ),
        Model(
            "veo",
            "Veo",
            VIDEO,
            "Realistic motion and cinematic product clips",
            size_rule="video",
            qualities=("lite", "fast", "standard"),
            timeout=900,
        ),
        Model(
            "kling",
            "Kling",
            VIDEO,
            "Expressive motion, subject control and creative product clips",
            size_rule="video",
            timeout=900,
        ),
        Model(
            "wan", "Wan", VIDEO, "Creative short video generation", size_rule="video", timeout=900
        ),
    )
}

ALIASES: dict[str, str] = {alias: m.id for m in MODELS.values() for alias in m.aliases}
# The credit table's per-tier ids: {id: (canonical id, tier)}.
TIER_IDS: dict[str, tuple[str, str]] = {
    tier_id: (m.id, tier) for m in MODELS.values() for tier, tier_id in m.ids_by_tier.items()
}


def get_model(model_id: str) -> Model | None:
    """Return the model for a canonical id, an alias or a per-tier id, or None."""
    if model_id in TIER_IDS:
        model_id = TIER_IDS[model_id][0]
    return MODELS.get(ALIASES.get(model_id, model_id))


def tier_of(model_id: str) -> str | None:
    """The tier a per-tier id fixes ("gemini-3-pro-image-preview-4k": "4K"), else None."""
    return TIER_IDS[model_id][1] if model_id in TIER_IDS else None
