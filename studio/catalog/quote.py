"""Turn a request into a price, or into a refusal that says what is accepted.

`quote(request)` takes the same dict a `/v1` body is (`model`, `n`, `size`, `quality`,
`duration`, plus `endpoint`) and returns a Quote or raises StudioError. Prices come from
`tables.PRICES`; nothing here knows a number of credits.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from decimal import ROUND_HALF_UP, Decimal

from studio.catalog import tables as t
from studio.errors import ErrorType, StudioError, invalid

CENT = Decimal("0.01")
_WXH = re.compile(r"^\s*(\d{1,6})\s*[xX×]\s*(\d{1,6})\s*$")


def money(value) -> Decimal:
    """Return `value` as credits with two decimal places (half up)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Quote:
    model: str  # canonical id
    endpoint: str
    kind: str
    credits: Decimal  # what a submit reserves
    unit_credits: Decimal  # per image, or per second of video
    unit: str  # "image" or "second"
    units: int  # images (n) or seconds (duration)
    tier: str  # image tier (512, 1K, 2K, 4K) or video resolution (720P, 1080P, 4K)
    size: str  # normalised WIDTHxHEIGHT
    width: int
    height: int
    quality: str | None  # normalised; None for models that ignore quality
    n: int
    duration: int | None

    def for_delivery(self, delivered: Decimal | float | int) -> Decimal:
        """Return the credits to capture for `delivered` images or seconds, capped at the quote."""
        delivered = Decimal(str(delivered))
        if delivered <= 0:
            return money(0)
        return min(self.credits, money(self.unit_credits * delivered))

    def to_dict(self) -> dict:
        data = asdict(self)
        data["credits"] = str(self.credits)
        data["unit_credits"] = str(self.unit_credits)
        return data

    @classmethod
    def from_dict(cls, data: Mapping) -> Quote:
        return cls(
            **{
                **data,
                "credits": Decimal(data["credits"]),
                "unit_credits": Decimal(data["unit_credits"]),
            }
        )


@dataclass(frozen=True)
class ImageOptions:
    """How an image job's files are made, beyond what is priced: OpenAI's output options.
    None means not asked for: the model's own default (PNG, its own background)."""

    output_format: str | None = None  # png, jpeg or webp: the stored file is that format
    output_compression: int | None = None  # 0-100, for jpeg and webp
    background: str | None = None  # auto, opaque or transparent (png and webp)
    moderation: str | None = None  # passed upstream
    input_fidelity: str | None = None  # edits: passed upstream

    @property
    def transparent(self) -> bool:
        return self.background == "transparent"

    def asked(self) -> dict:
        """The options that were asked for, as request fields (what goes upstream)."""
        return {k: v for k, v in asdict(self).items() if v is not None}


NO_OPTIONS = ImageOptions()


def image_options(request: Mapping) -> ImageOptions:
    """Return the ImageOptions of `request` (a /v1 body or a Job's params); raise StudioError
    saying what is accepted."""

    def one_of(name: str, values: tuple[str, ...]) -> str | None:
        value = request.get(name)
        if value is None:
            return None
        if value not in values:
            raise invalid(f"{name} must be {', '.join(values[:-1])} or {values[-1]}.", name)
        return value

    options = ImageOptions(
        output_format=one_of("output_format", t.OUTPUT_FORMATS),
        output_compression=request.get("output_compression"),
        background=one_of("background", t.BACKGROUNDS),
        moderation=one_of("moderation", t.MODERATIONS),
        input_fidelity=one_of("input_fidelity", t.INPUT_FIDELITIES),
    )
    low, high = t.OUTPUT_COMPRESSION_RANGE
    compression = options.output_compression
    if compression is not None and (
        isinstance(compression, bool)
        or not isinstance(compression, int)
        or not low <= compression <= high
    ):
        raise invalid(
            f"output_compression must be a whole number from {low} to {high}.",
            "output_compression",
        )
    if options.transparent and (options.output_format or "png") not in t.TRANSPARENT_FORMATS:
        raise invalid(
            f"A transparent background needs output_format {' or '.join(t.TRANSPARENT_FORMATS)}.",
            "background",
        )
    return options


def check_prompt(prompt) -> str:
    """Return the prompt without surrounding space; raise StudioError when it is empty or
    longer than PROMPT_MAX_LENGTH."""
    prompt = (prompt if isinstance(prompt, str) else "").strip()
    if not prompt:
        raise invalid("Write a prompt: it is what the model makes.", "prompt")
    if len(prompt) > t.PROMPT_MAX_LENGTH:
        raise invalid(f"The prompt can be at most {t.PROMPT_MAX_LENGTH} characters.", "prompt")
    return prompt


def quote(request: Mapping) -> Quote:
    """Return the Quote for `request`; raise StudioError saying what is accepted instead."""
    if not isinstance(request, Mapping):
        raise invalid("The request must be a JSON object.")
    model = _model(request.get("model"))
    endpoint = _endpoint(request.get("endpoint"), model)
    quality, billed_quality = _quality(request.get("quality"), model)
    if model.kind == t.IMAGE:
        n = _whole(request.get("n"), "n", 1, t.N_RANGE, "images")
        width, height, tier = _image_size(request.get("size"), model, request.get("model"))
        units, unit, duration = n, "image", None
    else:
        duration = _whole(
            request.get("duration"), "duration", t.DEFAULT_DURATION, t.DURATION_RANGE, "seconds"
        )
        width, height, tier = _video_size(request.get("size"), model)
        units, unit, n = duration, "second", 1
    unit_credits = _price(model, billed_quality, tier)
    return Quote(
        model=model.id,
        endpoint=endpoint,
        kind=model.kind,
        credits=money(unit_credits * units),
        unit_credits=money(unit_credits),
        unit=unit,
        units=units,
        tier=tier,
        size=f"{width}x{height}",
        width=width,
        height=height,
        quality=quality,
        n=n,
        duration=duration,
    )


def _model(value) -> t.Model:
    if value is None or value == "":
        raise invalid('model is required, e.g. "gpt-image-2" or "veo".', "model")
    if not isinstance(value, str):
        raise invalid("model must be a string.", "model")
    model = t.get_model(value.strip())
    if model is None:
        raise unknown_model(value)
    return model


def unknown_model(model_id: str) -> StudioError:
    return StudioError(
        f"The model {model_id!r} does not exist. Models: {', '.join(t.MODELS)}.",
        code=ErrorType.MODEL_NOT_FOUND,
        param="model",
    )


def _endpoint(value, model: t.Model) -> str:
    if value is None:
        return model.endpoints[0]
    if value not in t.ENDPOINTS:
        raise invalid(f"endpoint must be one of {', '.join(t.ENDPOINTS)}.", "endpoint")
    if value not in model.endpoints:
        routes = " or ".join(t.ENDPOINT_PATHS[e] for e in model.endpoints)
        raise invalid(
            f"{model.id} is {'an image' if model.kind == t.IMAGE else 'a video'} "
            f"model: use {routes}.",
            "model",
        )
    return value


def _quality(value, model: t.Model) -> tuple[str | None, str]:
    """Return (quality as requested and normalised, quality it is billed at)."""
    if not model.qualities:
        return None, "*"  # this model ignores quality
    if value is None or value == "":
        value = model.default_quality
    if isinstance(value, str):
        value = value.strip().lower()
        value = model.quality_synonyms.get(value, value)
    if value not in model.qualities:
        synonyms = ", ".join(f"{name} = {q}" for name, q in model.quality_synonyms.items())
        raise invalid(
            f"{model.id} takes quality {', '.join(model.qualities)} "
            f"(default {model.default_quality}{'; ' + synonyms if synonyms else ''}).",
            "quality",
        )
    return value, model.billed_as.get(value, value)


def _whole(value, param: str, default: int, bounds: tuple[int, int], unit: str) -> int:
    if value is None:
        return default
    low, high = bounds
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise invalid(f"{param} must be a whole number of {unit} from {low} to {high}.", param)
    return value


def _parse_wxh(value: str) -> tuple[int, int] | None:
    match = _WXH.match(value)
    return (int(match[1]), int(match[2])) if match else None


def _size_string(value, default: str) -> str:
    if value is None or value == "":
        return default
    if not isinstance(value, str):
        raise invalid('size must be a string such as "1024x1024" or "16:9".', "size")
    return value.strip()


def _check_sides(width: int, height: int) -> None:
    if min(width, height) < t.MIN_SIDE:
        raise invalid(
            f"size {width}x{height} is too small: each side needs at least {t.MIN_SIDE} px.", "size"
        )


def _image_size(value, model: t.Model, model_id: str) -> tuple[int, int, str]:
    fixed = t.tier_of(model_id.strip())
    if fixed is None:
        return _any_image_size(value, model)
    # A per-tier id: that tier's square unless a size of the same tier is asked for.
    side = t.GEMINI_TIER_KEYWORDS[fixed]
    if value is None or value == "" or (isinstance(value, str) and value.strip() == "auto"):
        return side, side, fixed
    width, height, tier = _any_image_size(value, model)
    if tier != fixed:
        raise invalid(
            f"{model_id.strip()} makes {fixed} images (such as {side}x{side}), and size "
            f"{width}x{height} is {tier}: use a {fixed} size, or {model.id} for any size.",
            "size",
        )
    return width, height, tier


def _any_image_size(value, model: t.Model) -> tuple[int, int, str]:
    size = _size_string(value, t.DEFAULT_IMAGE_SIZE)
    rule = model.size_rule
    if size.lower() == "auto":
        return 1024, 1024, "1K"
    if rule == "gemini":
        keyword = size.upper()
        if keyword in t.GEMINI_TIER_KEYWORDS:
            side = t.GEMINI_TIER_KEYWORDS[keyword]
            width = height = side
        elif size in t.GEMINI_PRESETS:
            return (*t.GEMINI_PRESETS[size], "1K")
        elif dims := _parse_wxh(size):
            width, height = dims
        else:
            raise invalid(
                f"size {size!r} is not one {model.id} takes: use WIDTHxHEIGHT, a ratio "
                f"({', '.join(t.GEMINI_PRESETS)}), auto, or a tier (512, 1K, 2K, 4K).",
                "size",
            )
        _check_sides(width, height)
        return width, height, _image_tier(model, width, height, ceiling=4096)
    if rule == "gpt-image-1.5":
        dims = t.GPT_IMAGE_15_SIZES.get(
            size.replace(" ", "").lower()
        ) or t.GPT_IMAGE_15_PRESETS.get(size)
        if not dims:
            raise invalid(
                f"{model.id} offers sizes {', '.join(t.GPT_IMAGE_15_SIZES)} and auto "
                f"(or the ratios {', '.join(t.GPT_IMAGE_15_PRESETS)}); for other sizes "
                "use gpt-image-2.",
                "size",
            )
        return (*dims, "1K")
    # gpt-image-2
    if size in t.GPT_IMAGE_2_PRESETS:
        return (*t.GPT_IMAGE_2_PRESETS[size], "1K")
    dims = _parse_wxh(size)
    if not dims:
        hint = (
            " Tier keywords such as 2K are for the Gemini models."
            if size.upper() in (t.GEMINI_TIER_KEYWORDS)
            else ""
        )
        raise invalid(
            f"size {size!r} is not one {model.id} takes: use WIDTHxHEIGHT, a ratio "
            f"({', '.join(t.GPT_IMAGE_2_PRESETS)}) or auto.{hint}",
            "size",
        )
    width, height = dims
    rules = t.GPT_IMAGE_2_RULES
    if width * height < rules["min_pixels"]:
        examples = ", ".join(f"{w}x{h}" for w, h in t.GPT_IMAGE_2_PRESETS.values())
        raise invalid(
            f"size {width}x{height} is too small for {model.id}: it needs at least "
            f"{rules['min_pixels']:,} total pixels (this is {width * height:,}), such as "
            f"{examples}.",
            "size",
        )
    tier = _image_tier(model, width, height, ceiling=rules["max_long_edge"])
    problems = []
    if width % rules["multiple"] or height % rules["multiple"]:
        problems.append(f"both sides must be multiples of {rules['multiple']}")
    if max(width, height) > rules["max_ratio"] * min(width, height):
        problems.append(f"the aspect ratio can be at most {rules['max_ratio']}:1")
    if width * height > rules["max_pixels"]:
        problems.append(
            f"the total pixels must be {rules['min_pixels']:,} to "
            f"{rules['max_pixels']:,} (this is {width * height:,})"
        )
    if problems:
        raise invalid(
            f"size {width}x{height} doesn't suit {model.id}: " + "; ".join(problems) + ".", "size"
        )
    return width, height, tier


def _image_tier(model: t.Model, width: int, height: int, ceiling: int) -> str:
    long_edge = max(width, height)
    if long_edge > ceiling:
        raise invalid(
            f"size {width}x{height} is too large: {model.id} allows a long edge of at "
            f"most {ceiling} px.",
            "size",
        )
    tier = next(tr for tr in t.IMAGE_TIERS if long_edge <= t.IMAGE_TIER_LONG_EDGE[tr])
    if tier not in model.tiers:
        largest = model.tiers[-1]
        top = min(t.IMAGE_TIER_LONG_EDGE[largest], ceiling)
        raise invalid(
            f"{model.id} offers sizes up to {top} px; use {_alternative(model, tier)} for {tier}.",
            "size",
        )
    return tier


def _video_size(value, model: t.Model) -> tuple[int, int, str]:
    size = _size_string(value, t.DEFAULT_VIDEO_SIZE)
    dims = t.VIDEO_PRESETS.get(size) or _parse_wxh(size)
    if not dims:
        raise invalid(
            f"size {size!r} is not a video size: use WIDTHxHEIGHT such as 1280x720, "
            f"or a ratio ({', '.join(t.VIDEO_PRESETS)}).",
            "size",
        )
    width, height = dims
    _check_sides(width, height)
    if width % 2 or height % 2:
        raise invalid(f"size {width}x{height}: video needs an even width and height.", "size")
    long_edge = max(width, height)
    ceiling = t.VIDEO_RESOLUTION_LONG_EDGE[t.VIDEO_RESOLUTIONS[-1]]
    if long_edge > ceiling:
        raise invalid(
            f"size {width}x{height} is too large: video allows a long edge of at most "
            f"{ceiling} px.",
            "size",
        )
    resolution = next(
        r for r in t.VIDEO_RESOLUTIONS if long_edge <= t.VIDEO_RESOLUTION_LONG_EDGE[r]
    )
    return width, height, resolution


def _price(model: t.Model, billed_quality: str, tier: str) -> Decimal:
    by_tier = model.prices[billed_quality]
    if tier in by_tier:
        return by_tier[tier]
    # Only video reaches here: image tiers were checked against every quality already.
    offered = " and ".join(by_tier)
    label = f"{model.id} {billed_quality}" if billed_quality != "*" else model.id
    better = [q for q, tiers in model.prices.items() if tier in tiers]
    hint = (
        f"; use quality {' or '.join(better)} for {tier}"
        if better
        else f"; use {_alternative(model, tier)} for {tier}"
    )
    raise invalid(f"{label} offers {offered}{hint}.", "size")


def _alternative(model: t.Model, tier: str) -> str:
    """Name the cheapest model of the same kind offering `tier`, preferring the same family."""
    family = model.id.split("-")[0]
    candidates = [
        (m.id.split("-")[0] != family, min(p[tier] for p in m.prices.values() if tier in p), m.id)
        for m in t.MODELS.values()
        if m.kind == model.kind and m.id != model.id and tier in m.tiers
    ]
    return min(candidates)[2] if candidates else "another model"
