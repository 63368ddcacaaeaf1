"""Paint a picture from a prompt: the local renderer's stand-in for an image model.

Deterministic: the same prompt and seed give the same pixels. The prompt's words choose the
palette (colour words; moods such as sunset, ocean, forest, night, neon, pastel) and the
motifs (mountains, a city, trees, water, a sun or moon, a bicycle, a house, flowers…); the
seed moves everything around, so the `n` outputs of one call differ.

A scene is painted as two layers, a background (sky, light, far things) and a foreground
(near things), so the video renderer can move them at different speeds (parallax). Every
finished output carries a small "local preview" mark: this is not a model's work, and it says so.
"""

from __future__ import annotations

import colorsys
import hashlib
import math
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

RGB = tuple[int, int, int]
MARK_TEXT = "local preview"

# --- words --------------------------------------------------------------------------------

COLOURS: dict[str, RGB] = {
    "red": (214, 48, 49),
    "crimson": (180, 24, 52),
    "scarlet": (230, 44, 32),
    "orange": (243, 130, 33),
    "amber": (255, 176, 46),
    "yellow": (250, 211, 56),
    "gold": (232, 182, 60),
    "golden": (232, 182, 60),
    "lime": (160, 214, 64),
    "green": (56, 158, 84),
    "emerald": (22, 150, 110),
    "mint": (150, 224, 190),
    "teal": (20, 140, 140),
    "turquoise": (48, 200, 190),
    "cyan": (40, 200, 230),
    "aqua": (80, 210, 220),
    "blue": (44, 110, 214),
    "navy": (24, 40, 100),
    "azure": (70, 150, 240),
    "indigo": (75, 60, 170),
    "violet": (140, 82, 200),
    "purple": (124, 58, 170),
    "lavender": (184, 160, 226),
    "magenta": (214, 40, 160),
    "pink": (240, 130, 170),
    "brown": (130, 84, 50),
    "beige": (222, 204, 170),
    "white": (244, 244, 240),
    "black": (24, 24, 28),
    "grey": (128, 132, 140),
    "gray": (128, 132, 140),
    "silver": (190, 196, 204),
}

# Moods: a sky (top to bottom), a ground, a light colour and whether it is dark out. When a
# prompt names several, the first here wins: the light of a scene beats its setting.
MOODS: dict[str, dict] = {
    "neon": {
        "sky": ["#0b0220", "#23104a", "#5a1573", "#b3246f"],
        "ground": "#0b0220",
        "light": "#ff4fb0",
        "dark": True,
    },
    "space": {
        "sky": ["#020108", "#0d0626", "#24104a", "#3b1d63"],
        "ground": "#020108",
        "light": "#b9a7ff",
        "dark": True,
    },
    "night": {
        "sky": ["#03061a", "#0d1740", "#22316e", "#3e4f8c"],
        "ground": "#070b1f",
        "light": "#dfe8ff",
        "dark": True,
    },
    "sunset": {
        "sky": ["#2b1d4f", "#8e3b76", "#e8664a", "#f7b267"],
        "ground": "#2a1838",
        "light": "#ffd37a",
        "dark": False,
    },
    "storm": {
        "sky": ["#2f3640", "#4b5563", "#7b8591", "#aab3bd"],
        "ground": "#2a2f36",
        "light": "#e5e9ee",
        "dark": False,
    },
    "snow": {
        "sky": ["#9fb8d6", "#c9d9ea", "#eaf1f8", "#ffffff"],
        "ground": "#61738c",
        "light": "#ffffff",
        "dark": False,
    },
    "autumn": {
        "sky": ["#5b3a57", "#b8574a", "#eb9a52", "#f8d9a0"],
        "ground": "#6e2f1f",
        "light": "#ffd9a0",
        "dark": False,
    },
    "desert": {
        "sky": ["#6d9dc5", "#b7d3e0", "#f5e1c0", "#f8d7a4"],
        "ground": "#d99a5b",
        "light": "#fff0c8",
        "dark": False,
    },
    "pastel": {
        "sky": ["#cdd9fb", "#e9defa", "#fde2e4", "#fff1e6"],
        "ground": "#c9e4de",
        "light": "#fffaf0",
        "dark": False,
    },
    "ocean": {
        "sky": ["#1d5c85", "#4a9cc4", "#9fd8e6", "#e6f6f4"],
        "ground": "#0e4d6e",
        "light": "#fff6d8",
        "dark": False,
    },
    "forest": {
        "sky": ["#3f6f62", "#83b38e", "#cfe3b8", "#f2f4dc"],
        "ground": "#1d3b27",
        "light": "#fff3c4",
        "dark": False,
    },
}


def _by_word(groups: dict[str, str]) -> dict[str, str]:
    """Return {word: name} from {name: "word word …"}."""
    return {word: name for name, words in groups.items() for word in words.split()}


# The words that set each mood.
MOOD_WORDS = _by_word(
    {
        "sunset": "sunset sunrise dusk dawn evening",
        "ocean": "ocean sea beach coast tropical summer",
        "forest": "forest jungle wood meadow spring nature",
        "night": "night midnight starry moon moonlight",
        "neon": "neon cyberpunk synthwave vaporwave",
        "pastel": "pastel soft dreamy candy",
        "desert": "desert dune sand",
        "snow": "snow snowy winter ice arctic frozen",
        "autumn": "autumn fall",
        "storm": "storm rain rainy stormy foggy fog misty moody",
        "space": "space galaxy cosmic nebula planet",
    }
)
# The words that bring each motif into the picture.
SUBJECT_WORDS = _by_word(
    {
        "mountains": "mountain peak alp",
        "hills": "hill valley landscape field dune",
        "city": "city skyline building town street urban skyscraper cyberpunk",
        "water": "ocean sea beach lake wave river water",
        "trees": "forest tree wood pine jungle",
        "sun": "sun sunset sunrise",
        "circle": "circle orb ball sphere bubble",
        "moon": "moon",
        "planet": "planet",
        "stars": "star starry galaxy space night",
        "bicycle": "bicycle bike cycling",
        "house": "house home cabin cottage",
        "flowers": "flower rose garden bloom tulip",
        "birds": "bird",
        "heart": "heart love",
        "clouds": "cloud sky",
        "grid": "neon synthwave",
    }
)
# Subjects that stand on the ground, so the scene needs one under them.
GROUNDED = {"bicycle", "house", "flowers", "trees"}


def _stem(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("es") and word[:-2] in SUBJECT_WORDS:
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


@dataclass
class Recipe:
    """What the prompt asks for, as far as this renderer understands it."""

    colours: list[RGB] = field(default_factory=list)
    mood: str | None = None
    subjects: list[str] = field(default_factory=list)


def read_prompt(prompt: str) -> Recipe:
    """Return the colours, mood and subjects the words of `prompt` name, in prompt order."""
    recipe = Recipe()
    moods = []
    for raw in re.findall(r"[a-z]+", prompt.lower()):
        word = raw if raw in COLOURS or raw in MOOD_WORDS or raw in SUBJECT_WORDS else _stem(raw)
        if word in COLOURS and COLOURS[word] not in recipe.colours:
            recipe.colours.append(COLOURS[word])
        if word in MOOD_WORDS:
            moods.append(MOOD_WORDS[word])
        subject = SUBJECT_WORDS.get(word)
        if subject and subject not in recipe.subjects:
            recipe.subjects.append(subject)
    # "An ocean at sunset" is a sunset.
    recipe.mood = min(moods, key=list(MOODS).index, default=None)
    return recipe


# --- colour -------------------------------------------------------------------------------


def hex_rgb(value: str) -> RGB:
    value = value.lstrip("#")
    return (int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16))


def mix(a: Sequence[int], b: Sequence[int], t: float) -> RGB:
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b, strict=False))[:3]  # type: ignore[return-value]


def hsl(h: float, s: float, lum: float) -> RGB:
    r, g, b = colorsys.hls_to_rgb(h % 1.0, lum, s)
    return (round(r * 255), round(g * 255), round(b * 255))


def hue_of(colour: RGB) -> float:
    return colorsys.rgb_to_hls(*(c / 255 for c in colour))[0]


@dataclass
class Palette:
    sky: list[RGB]
    ground: RGB
    light: RGB
    subject: RGB
    accents: list[RGB]
    dark: bool


def make_palette(recipe: Recipe, rng: random.Random) -> Palette:
    """Choose the colours of the scene: a mood's, the named colours', or a harmony of the seed's."""
    colours = recipe.colours
    if recipe.mood:
        mood = MOODS[recipe.mood]
        sky = [hex_rgb(c) for c in mood["sky"]]
        ground, light, dark = hex_rgb(mood["ground"]), hex_rgb(mood["light"]), mood["dark"]
        if colours and not (set(recipe.subjects) - {"sun", "moon", "stars", "clouds"}):
            # "a purple sunset": nothing else to colour, so the named colour tints the sky.
            sky = [mix(c, colours[0], 0.35) for c in sky]
    elif colours and recipe.subjects:
        # A coloured subject stands out best on a calm sky of the opposite hue.
        base = hue_of(colours[0]) + 0.5 + rng.uniform(-0.06, 0.06)
        sky = [hsl(base, 0.35, 0.42), hsl(base + 0.04, 0.38, 0.62), hsl(base + 0.08, 0.45, 0.80)]
        sky.append(hsl(base + 0.1, 0.5, 0.9))
        ground, light, dark = hsl(base + 0.15, 0.25, 0.32), (255, 246, 224), False
    elif colours:
        deep = [mix(c, (10, 12, 30), 0.55) for c in colours]
        bright = [mix(c, (255, 250, 240), 0.45) for c in colours]
        sky = [deep[0], colours[0], bright[-1], mix(bright[0], (255, 255, 255), 0.5)]
        ground, light, dark = deep[-1], (255, 248, 230), False
    else:
        base = rng.random()
        sky = [
            hsl(base, 0.45, 0.28),
            hsl(base + 0.06, 0.50, 0.50),
            hsl(base + 0.12, 0.60, 0.72),
            hsl(base + 0.16, 0.65, 0.86),
        ]
        ground, light, dark = hsl(base + 0.5, 0.30, 0.25), hsl(base + 0.12, 0.9, 0.92), False
    subject = colours[0] if colours else hsl(hue_of(sky[1]) + 0.5, 0.65, 0.5)
    accents = list(colours[1:]) + [hsl(hue_of(subject) + d, 0.6, 0.6) for d in (0.08, 0.5, 0.58)]
    return Palette(sky=sky, ground=ground, light=light, subject=subject, accents=accents, dark=dark)


# --- drawing helpers ----------------------------------------------------------------------


def vertical_gradient(size: tuple[int, int], stops: Sequence[RGB]) -> Image.Image:
    """Return an RGB image shading through `stops` from top to bottom."""
    column = Image.new("RGB", (1, 256))
    last = len(stops) - 1
    pixels = []
    for y in range(256):
        pos = y / 255 * last
        i = min(int(pos), last - 1) if last else 0
        pixels.append(mix(stops[i], stops[min(i + 1, last)], pos - i) if last else stops[0])
    column.putdata(pixels)
    return column.resize(size, Image.Resampling.BICUBIC)


@lru_cache(maxsize=4)
def radial(power: float) -> Image.Image:
    # 255 at the centre, falling to 0 at the rim; `power` > 1 makes the falloff softer.
    return Image.radial_gradient("L").point(lambda v: round(255 * max(0.0, 1 - v / 128) ** power))


def glow_mask(size: tuple[int, int], centre: tuple[float, float], radius: float, power=2.0):
    """Return an L mask with a soft round light of `radius` at `centre`."""
    mask = Image.new("L", size, 0)
    side = max(2, round(radius * 2))
    blob = radial(power).resize((side, side), Image.Resampling.BILINEAR)
    mask.paste(blob, (round(centre[0] - side / 2), round(centre[1] - side / 2)))
    return mask


def soften(mask: Image.Image, radius: float) -> Image.Image:
    """Return `mask` blurred by `radius`, blurring only around what it covers (it is faster)."""
    box = mask.getbbox()
    if not radius or box is None:
        return mask
    pad = math.ceil(radius * 3)
    w, h = mask.size
    box = (max(0, box[0] - pad), max(0, box[1] - pad), min(w, box[2] + pad), min(h, box[3] + pad))
    out = Image.new("L", mask.size, 0)
    out.paste(mask.crop(box).filter(ImageFilter.GaussianBlur(radius)), box[:2])
    return out


class Layer:
    """An RGBA layer painted through antialiased masks.

    Shapes are drawn into a mask at `ss` times the size and scaled down, which is how Pillow
    gets smooth edges; large canvases skip the supersampling and soften a little instead.
    """

    def __init__(self, size: tuple[int, int]):
        self.size = size
        self.image = Image.new("RGBA", size, (0, 0, 0, 0))
        self.ss = 2 if max(size) <= 1600 else 1

    def mask(self, draw: Callable[[ImageDraw.ImageDraw, float], None], blur: float = 0.0):
        w, h = self.size
        mask = Image.new("L", (w * self.ss, h * self.ss), 0)
        draw(ImageDraw.Draw(mask), self.ss)
        if self.ss > 1:
            mask = mask.reduce(self.ss)
        elif not blur:
            blur = 0.6
        return soften(mask, blur)

    def paint(self, mask: Image.Image, paint: RGB | Image.Image, opacity: float = 1.0) -> None:
        """Lay `paint` (a colour or an image of the layer's size) over the layer through `mask`."""
        # Work only on the mask's bounding box: most shapes are small next to the canvas.
        box = mask.getbbox()
        if box is None:
            return
        mask = mask.crop(box)
        if isinstance(paint, tuple):
            source = Image.new("RGBA", mask.size, (*paint, 255))
        else:
            source = paint.crop(box).convert("RGBA")
        if opacity < 1:
            mask = mask.point(lambda v: round(v * opacity))
        source.putalpha(mask)
        self.image.alpha_composite(source, dest=box[:2])

    def shape(self, draw, paint, blur: float = 0.0, opacity: float = 1.0) -> None:
        self.paint(self.mask(draw, blur), paint, opacity)


def _scaled(points: Sequence[tuple[float, float]], s: float) -> list[tuple[float, float]]:
    return [(x * s, y * s) for x, y in points]


def circle_box(cx: float, cy: float, r: float, s: float) -> tuple[float, float, float, float]:
    return ((cx - r) * s, (cy - r) * s, (cx + r) * s, (cy + r) * s)


# --- the scene ----------------------------------------------------------------------------


@dataclass
class Scene:
    background: Image.Image  # RGBA, opaque
    foreground: Image.Image  # RGBA, transparent where the background shows
    light: tuple[float, float]  # where the light comes from, in pixels
    palette: Palette


def seeded(prompt: str, seed: int) -> random.Random:
    digest = hashlib.sha256(f"{seed}\x00{prompt}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def paint_scene(prompt: str, seed: int, width: int, height: int, cutout: bool = False) -> Scene:
    """Return the two layers of the picture `prompt` describes, varied by `seed`. For a
    `cutout` (the foreground alone), a scene with nothing near gets abstract shapes there."""
    rng = seeded(prompt, seed)
    recipe = read_prompt(prompt)
    palette = make_palette(recipe, rng)
    subjects = recipe.subjects
    size = (width, height)
    u = min(width, height)
    mirror = rng.random() < 0.5

    if "grid" in subjects or recipe.mood == "neon":
        horizon = height * rng.uniform(0.58, 0.64)
    elif "water" in subjects or "city" in subjects:
        horizon = height * rng.uniform(0.55, 0.68)
    else:
        horizon = height * rng.uniform(0.62, 0.74)

    sun_x = width * rng.uniform(0.22, 0.78)
    if "sun" in subjects or recipe.mood == "sunset":
        sun_y = horizon - u * rng.uniform(0.02, 0.14)
    else:
        sun_y = height * rng.uniform(0.16, 0.34)
    light = (sun_x, sun_y)

    # Sky: the gradient, a second tint across it for variety, and the light's glow.
    bg = Layer(size)
    bg.image = vertical_gradient(size, palette.sky).convert("RGBA")
    tint = palette.accents[rng.randrange(len(palette.accents))]
    side = Image.linear_gradient("L").rotate(rng.choice((90, -90)))
    bg.paint(side.resize(size), tint, opacity=0.08 if palette.dark else 0.18)
    bg.paint(glow_mask(size, light, u * 0.9, 2.6), palette.light, opacity=0.55)

    if "stars" in subjects or palette.dark:
        _stars(bg, rng, horizon, density=1.6 if recipe.mood == "space" else 1.0)
    if "planet" in subjects:
        _planet(bg, rng, palette)
    if "moon" in subjects or (palette.dark and recipe.mood == "night"):
        _moon(bg, light, u, palette)
    elif "sun" in subjects or recipe.mood in ("sunset", "desert", "neon"):
        _sun(bg, light, u, palette, striped=recipe.mood == "neon" or "grid" in subjects)
    if "clouds" in subjects or recipe.mood in ("storm", "ocean", "pastel"):
        _clouds(bg, rng, horizon, palette)
    if "mountains" in subjects:
        # The far ranges belong to the sky layer: in a video they barely move.
        _ridges(bg, rng, horizon, palette, layers=2, near=False, snow=recipe.mood == "snow")

    fg = Layer(size)
    if "mountains" in subjects:
        _ridges(fg, rng, horizon, palette, layers=1, near=True, snow=recipe.mood == "snow")
    if "hills" in subjects or (set(subjects) & GROUNDED and "water" not in subjects):
        _hills(fg, rng, horizon, palette)
    if "water" in subjects:
        _water(fg, rng, horizon, light, palette)
        if set(subjects) & GROUNDED:
            _shore(fg, rng, palette)  # something to stand on in front of the water
    if "grid" in subjects or recipe.mood == "neon":
        _grid(fg, horizon, palette)
    if "city" in subjects:
        _city(fg, rng, horizon, palette, lit=palette.dark or recipe.mood == "sunset")
    if "trees" in subjects:
        _trees(fg, rng, horizon, palette, forest=recipe.mood == "forest" or "forest" in prompt)
    if "birds" in subjects:
        _birds(fg, rng, horizon, palette)
    ground_y = height * 0.86
    focus = [s for s in subjects if s in ("bicycle", "house", "flowers", "heart", "circle")]
    for i, subject in enumerate(focus):
        cx = width * (0.5 + (i - (len(focus) - 1) / 2) * 0.32)
        {
            "bicycle": _bicycle,
            "house": _house,
            "flowers": _flowers,
            "heart": _heart,
            "circle": _orb,
        }[subject](fg, rng, cx, ground_y, u / (1 + 0.35 * (len(focus) - 1)), palette)
    if not subjects or (cutout and fg.image.getchannel("A").getbbox() is None):
        _abstract(fg, rng, palette)

    background, foreground = bg.image, fg.image
    if mirror:
        background = background.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        foreground = foreground.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        light = (width - light[0], light[1])
    return Scene(background=background, foreground=foreground, light=light, palette=palette)


def _stars(layer: Layer, rng: random.Random, horizon: float, density: float) -> None:
    w, h = layer.size
    count = int(w * h / 2600 * density)
    stars = [
        (rng.uniform(0, w), rng.uniform(0, horizon) ** 1.0, rng.random()) for _ in range(count)
    ]

    def draw(d, s):
        for x, y, b in stars:
            r = 0.5 + 1.3 * b**4
            d.ellipse(
                circle_box(x, y * (0.3 + 0.7 * y / max(horizon, 1)), r, s), fill=round(90 + 165 * b)
            )

    layer.shape(draw, (255, 255, 255))
    # A few bright ones get a halo.
    for x, y, b in stars[: max(3, count // 60)]:
        yy = y * (0.3 + 0.7 * y / max(horizon, 1))
        layer.paint(glow_mask(layer.size, (x, yy), 6 + 10 * b, 3), (230, 236, 255), 0.7)


def _sun(layer: Layer, light, u: float, palette: Palette, striped: bool) -> None:
    r = u * 0.11
    cx, cy = light
    layer.paint(glow_mask(layer.size, light, r * 4.5, 2.2), palette.light, opacity=0.6)
    disc = vertical_gradient(layer.size, [palette.light, mix(palette.light, (255, 90, 90), 0.35)])

    def draw(d, s):
        d.ellipse(circle_box(cx, cy, r, s), fill=255)
        if striped:
            # The synthwave sun: bands cut out of its lower half, widening downwards.
            for i in range(6):
                y = cy + r * (0.1 + i * 0.16)
                d.rectangle((0, y * s, 10**6, (y + r * 0.025 * (i + 1)) * s), fill=0)

    layer.shape(draw, disc)


def _moon(layer: Layer, light, u: float, palette: Palette) -> None:
    r = u * 0.07
    cx, cy = light
    layer.paint(glow_mask(layer.size, light, r * 6, 2.5), palette.light, opacity=0.35)
    layer.shape(lambda d, s: d.ellipse(circle_box(cx, cy, r, s), fill=255), (236, 240, 250))
    # Craters: soft darker patches.
    craters = [(0.3, -0.2, 0.22), (-0.35, 0.25, 0.16), (0.1, 0.45, 0.12)]
    layer.shape(
        lambda d, s: [
            d.ellipse(circle_box(cx + a * r, cy + b * r, c * r, s), fill=255) for a, b, c in craters
        ],
        (200, 206, 222),
        blur=r * 0.06,
        opacity=0.6,
    )


def _planet(layer: Layer, rng: random.Random, palette: Palette) -> None:
    w, h = layer.size
    u = min(w, h)
    cx, cy, r = w * rng.uniform(0.25, 0.75), h * rng.uniform(0.3, 0.5), u * rng.uniform(0.14, 0.2)
    body = vertical_gradient(layer.size, [palette.accents[0], palette.subject, palette.sky[0]])
    layer.paint(glow_mask(layer.size, (cx, cy), r * 2.2, 2), palette.light, opacity=0.3)

    def ring(start: int, end: int):
        def draw(d, s):
            box = ((cx - r * 1.9) * s, (cy - r * 0.35) * s, (cx + r * 1.9) * s, (cy + r * 0.35) * s)
            d.arc(box, start, end, fill=255, width=max(1, round(r * 0.06 * s)))

        return draw

    # The ring passes behind the planet at the top and in front of it at the bottom.
    layer.shape(ring(180, 360), palette.light, opacity=0.8)
    layer.shape(lambda d, s: d.ellipse(circle_box(cx, cy, r, s), fill=255), body)
    layer.shape(ring(0, 180), palette.light, opacity=0.8)


def _clouds(layer: Layer, rng: random.Random, horizon: float, palette: Palette) -> None:
    w, _ = layer.size
    u = min(layer.size)
    colour = mix((255, 255, 255), palette.light, 0.4)
    for _ in range(rng.randint(3, 5)):
        cx, cy = rng.uniform(-0.1, 1.1) * w, rng.uniform(0.1, 0.6) * horizon
        puffs = [
            (cx + rng.uniform(-1.6, 1.6) * u * 0.08, cy + rng.uniform(-0.3, 0.3) * u * 0.05)
            for _ in range(7)
        ]
        sizes = [u * rng.uniform(0.04, 0.09) for _ in puffs]

        def draw(d, s, puffs=puffs, sizes=sizes):
            for (x, y), r in zip(puffs, sizes, strict=True):
                d.ellipse(
                    (((x - r * 1.5) * s), (y - r) * s, (x + r * 1.5) * s, (y + r) * s), fill=255
                )

        layer.shape(draw, colour, blur=u * 0.02, opacity=rng.uniform(0.45, 0.75))


def _ridge_line(rng: random.Random, width: float, base: float, height: float, steps=160):
    peaks = [
        (rng.uniform(-0.1, 1.1) * width, rng.uniform(0.4, 1.0)) for _ in range(rng.randint(3, 5))
    ]
    phases = [rng.uniform(0, math.tau) for _ in range(3)]
    points = []
    for i in range(steps + 1):
        x = width * i / steps
        y = max(p * max(0.0, 1 - abs(x - px) / (width * 0.28)) ** 1.3 for px, p in peaks)
        y += sum(
            0.05 / (k + 1) * math.sin(x / width * (7 + 9 * k) + ph) for k, ph in enumerate(phases)
        )
        points.append((x, base - height * y))
    return points


def _ridges(layer, rng, horizon, palette: Palette, layers: int, near: bool, snow: bool) -> None:
    w, h = layer.size
    haze = palette.sky[-1]
    rock = palette.ground
    for i in range(layers):
        depth = (i + (2 if near else 0)) / 2  # 0 far … 1 near
        base = horizon + h * 0.05 * depth
        rise = h * (0.36 - 0.1 * depth)
        ridge = _ridge_line(rng, w, base, rise)
        top = mix(rock, haze, 0.7 - 0.6 * depth)
        bottom = mix(rock, haze, 0.45 - 0.45 * depth)
        fill = vertical_gradient(layer.size, [top, bottom])
        poly = [*ridge, (w, h), (0, h)]
        mountain = layer.mask(lambda d, s, poly=poly: d.polygon(_scaled(poly, s), fill=255))
        layer.paint(mountain, fill)
        if snow:
            # Snow on the high ground only: the range's mask above a wavy snow line.
            line = [(x, base - rise * (0.62 + 0.05 * math.sin(x / w * 40))) for x, _ in ridge]
            above = layer.mask(
                lambda d, s, a=[(0, 0), (w, 0), *line[::-1]]: d.polygon(_scaled(a, s), fill=255)
            )
            snowcap = ImageChops.multiply(mountain, above)
            layer.paint(snowcap, mix((250, 252, 255), haze, 0.35 - 0.3 * depth))
        if palette.light and depth < 1:
            # A rim of light along the far ridges, as if the sun grazed them.
            layer.shape(
                lambda d, s, ridge=ridge: d.line(
                    _scaled(ridge, s), fill=255, width=max(1, round(2 * s))
                ),
                palette.light,
                blur=1.5,
                opacity=0.22,
            )


def _hills(layer, rng, horizon, palette: Palette) -> None:
    w, h = layer.size
    for i in range(2):
        base = horizon + h * (0.06 + 0.1 * i)
        amp = h * rng.uniform(0.03, 0.07)
        phase, freq = rng.uniform(0, math.tau), rng.uniform(1.2, 2.4)
        line = [
            (w * k / 80, base - amp * math.sin(k / 80 * freq * math.pi + phase)) for k in range(81)
        ]
        colour = mix(palette.ground, palette.sky[-1], 0.45 - 0.35 * i)
        fill = vertical_gradient(layer.size, [mix(colour, palette.light, 0.15), colour])
        poly = [*line, (w, h), (0, h)]
        layer.shape(lambda d, s, poly=poly: d.polygon(_scaled(poly, s), fill=255), fill)


def _water(layer, rng, horizon, light, palette: Palette) -> None:
    w, h = layer.size
    deep = mix(palette.ground, (0, 30, 60), 0.3)
    surface = vertical_gradient(
        (w, h), [palette.sky[-1], mix(palette.sky[-2], deep, 0.5), deep]
    ).crop((0, 0, w, h))
    layer.shape(lambda d, s: d.rectangle((0, horizon * s, w * s, h * s), fill=255), surface)
    glints = []
    for _ in range(int(w * (h - horizon) / 1800)):
        y = rng.uniform(horizon + 2, h)
        near = (y - horizon) / max(1.0, h - horizon)
        # Glints crowd into a column under the light, like a sun's reflection.
        x = (
            rng.gauss(light[0], w * (0.05 + 0.25 * near))
            if rng.random() < 0.6
            else rng.uniform(0, w)
        )
        length = w * rng.uniform(0.005, 0.04) * (0.4 + near)
        glints.append((x, y, length, max(1.0, 2.5 * near)))

    def draw(d, s):
        for x, y, length, thick in glints:
            d.line(
                ((x - length) * s, y * s, (x + length) * s, y * s),
                fill=200,
                width=max(1, round(thick * s)),
            )

    layer.shape(draw, palette.light, opacity=0.55)


def _shore(layer, rng, palette: Palette) -> None:
    w, h = layer.size
    sand = mix((226, 200, 158), palette.ground, 0.6 if palette.dark else 0.0)
    phase = rng.uniform(0, math.tau)
    edge = [
        (w * k / 60, h * (0.8 - 0.03 * math.sin(k / 60 * math.pi * 1.5 + phase))) for k in range(61)
    ]
    fill = vertical_gradient(
        layer.size, [mix(sand, palette.light, 0.2), mix(sand, palette.ground, 0.35)]
    )
    poly = [*edge, (w, h), (0, h)]
    layer.shape(lambda d, s: d.polygon(_scaled(poly, s), fill=255), fill)
    # Foam where the water meets the sand.
    layer.shape(
        lambda d, s: d.line(_scaled(edge, s), fill=255, width=max(1, round(min(w, h) * 0.006 * s))),
        (250, 250, 245),
        blur=min(w, h) * 0.004,
        opacity=0.7,
    )


def _grid(layer, horizon, palette: Palette) -> None:
    w, h = layer.size
    floor = vertical_gradient(layer.size, [palette.sky[0], palette.ground])
    layer.shape(lambda d, s: d.rectangle((0, horizon * s, w * s, h * s), fill=255), floor)
    lines = []
    for i in range(1, 14):
        y = horizon + (h - horizon) * (i / 13) ** 2.2
        lines.append(((0, y), (w, y)))
    for i in range(-12, 13):
        lines.append(((w / 2 + i * w * 0.02, horizon), (w / 2 + i * w * 0.22, h)))
    colour = palette.accents[1] if palette.accents else (255, 80, 180)

    def draw(d, s):
        for a, b in lines:
            d.line(_scaled((a, b), s), fill=255, width=max(1, round(1.6 * s)))

    mask = layer.mask(draw)
    layer.paint(soften(mask, min(w, h) * 0.008), colour, opacity=0.9)
    layer.paint(mask, mix(colour, (255, 255, 255), 0.5))


def _city(layer, rng, horizon, palette: Palette, lit: bool) -> None:
    w, h = layer.size
    u = min(w, h)
    for row in range(2):
        colour = mix(palette.ground, palette.sky[-1], 0.45 if row == 0 else 0.05)
        x = -rng.uniform(0, u * 0.05)
        buildings = []
        while x < w:
            bw = u * rng.uniform(0.05, 0.11) * (1.2 if row else 1)
            bh = h * rng.uniform(0.12, 0.38) * (0.8 if row else 1.15)
            buildings.append((x, horizon + h * 0.04 * row - bh, x + bw, h))
            x += bw + u * rng.uniform(0.0, 0.012)
        fill = vertical_gradient(layer.size, [mix(colour, palette.light, 0.12), colour])
        layer.shape(lambda d, s, b=buildings: _rects(d, b, s), fill)
        windows = []
        for x0, y0, x1, _ in buildings:
            step = u * 0.02
            for wy in _frange(y0 + step, min(h, horizon + h * 0.25), step * 1.4):
                for wx in _frange(x0 + step * 0.6, x1 - step * 0.9, step):
                    if rng.random() < (0.45 if lit else 0.3):
                        windows.append((wx, wy, wx + step * 0.45, wy + step * 0.6))
        glow = (255, 214, 140) if lit else mix(colour, palette.sky[-1], 0.5)
        layer.shape(
            lambda d, s, ws=windows: _rects(d, ws, s),
            glow,
            opacity=0.9 if lit else 0.5,
        )


def _rects(d: ImageDraw.ImageDraw, rects, s: float) -> None:
    for r in rects:
        d.rectangle(tuple(v * s for v in r), fill=255)


def _frange(start: float, stop: float, step: float):
    while start < stop:
        yield start
        start += step


def _trees(layer, rng, horizon, palette: Palette, forest: bool) -> None:
    w, h = layer.size
    u = min(w, h)
    rows = 3 if forest else 1
    for row in range(rows):
        depth = (row + 1) / rows
        colour = mix(mix(palette.ground, (20, 70, 40), 0.5), palette.sky[-1], 0.55 * (1 - depth))
        count = int((14 if forest else 4) * w / u * (0.7 + depth * 0.3))
        base = horizon + h * (0.04 + 0.12 * depth)
        trees = []
        for _ in range(count):
            x = rng.uniform(0, w)
            th = u * rng.uniform(0.12, 0.22) * (0.5 + depth * 0.8)
            trees.append((x, base + rng.uniform(-0.02, 0.02) * h, th))

        def draw(d, s, trees=trees):
            for x, y, th in trees:
                for k in range(3):
                    top = y - th * (1 - k * 0.22)
                    half = th * (0.18 + k * 0.07)
                    d.polygon(
                        _scaled(
                            [(x, top), (x + half, top + th * 0.45), (x - half, top + th * 0.45)], s
                        ),
                        fill=255,
                    )
                trunk = (x - th * 0.03, y - th * 0.1, x + th * 0.03, y + th * 0.08)
                d.rectangle(tuple(v * s for v in trunk), fill=255)

        layer.shape(draw, vertical_gradient(layer.size, [mix(colour, palette.light, 0.2), colour]))


def _birds(layer, rng, horizon, palette: Palette) -> None:
    w, _ = layer.size
    u = min(layer.size)
    cx, cy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.15, 0.45) * horizon
    birds = [
        (cx + rng.gauss(0, u * 0.08), cy + rng.gauss(0, u * 0.04), u * rng.uniform(0.012, 0.025))
        for _ in range(rng.randint(4, 8))
    ]

    def draw(d, s):
        for x, y, r in birds:
            d.line(
                _scaled([(x - r, y - r * 0.4), (x, y), (x + r, y - r * 0.5)], s),
                fill=255,
                width=max(1, round(r * 0.18 * s)),
                joint="curve",
            )

    layer.shape(draw, mix(palette.ground, (0, 0, 0), 0.4), opacity=0.85)


def _shadow(layer: Layer, cx: float, y: float, rx: float, ry: float) -> None:
    layer.shape(
        lambda d, s: d.ellipse(
            ((cx - rx) * s, (y - ry) * s, (cx + rx) * s, (y + ry) * s), fill=255
        ),
        (0, 0, 0),
        blur=ry * 0.8,
        opacity=0.35,
    )


def _bicycle(layer, rng, cx, ground, u, palette: Palette) -> None:
    r = u * 0.12
    rear, front = (cx - r * 1.25, ground - r), (cx + r * 1.25, ground - r)
    crank = (cx - r * 0.15, ground - r * 0.95)
    seat = (cx - r * 0.55, ground - r * 2.05)
    head = (cx + r * 0.85, ground - r * 1.95)
    tyre = mix(palette.ground, (10, 10, 14), 0.7)
    line = max(1.0, r * 0.09)
    _shadow(layer, cx, ground + r * 0.02, r * 2.6, r * 0.14)

    def wheels(d, s):
        for hub in (rear, front):
            d.ellipse(circle_box(*hub, r, s), outline=255, width=max(1, round(line * 1.3 * s)))
            for k in range(12):
                a = k * math.pi / 6
                d.line(
                    _scaled([hub, (hub[0] + r * math.cos(a), hub[1] + r * math.sin(a))], s),
                    fill=150,
                    width=max(1, round(s * 0.8)),
                )

    layer.shape(wheels, tyre)

    def frame(d, s):
        width = max(1, round(line * s))
        for a, b in (
            (rear, crank),
            (crank, seat),
            (seat, rear),
            (crank, head),
            (seat, head),
            (head, front),
        ):
            d.line(_scaled([a, b], s), fill=255, width=width)
        d.line(
            _scaled(
                [(seat[0] - r * 0.25, seat[1] - r * 0.12), (seat[0] + r * 0.2, seat[1] - r * 0.12)],
                s,
            ),
            fill=255,
            width=round(width * 1.4),
        )
        d.line(
            _scaled(
                [
                    head,
                    (head[0] - r * 0.1, head[1] - r * 0.3),
                    (head[0] + r * 0.3, head[1] - r * 0.35),
                ],
                s,
            ),
            fill=255,
            width=width,
            joint="curve",
        )
        d.ellipse(circle_box(*crank, r * 0.16, s), fill=255)

    layer.shape(frame, palette.subject)
    layer.shape(
        lambda d, s: d.line(
            _scaled([(rear[0], rear[1] - r * 0.05), (seat[0] + r * 0.1, seat[1] + r * 0.2)], s),
            fill=255,
            width=max(1, round(line * 0.5 * s)),
        ),
        palette.light,
        blur=0.8,
        opacity=0.5,
    )


def _house(layer, rng, cx, ground, u, palette: Palette) -> None:
    bw, bh = u * 0.26, u * 0.18
    x0, x1, top = cx - bw / 2, cx + bw / 2, ground - bh
    _shadow(layer, cx, ground, bw * 0.7, u * 0.015)
    wall = vertical_gradient(
        layer.size,
        [mix(palette.subject, (255, 255, 255), 0.55), mix(palette.subject, (255, 255, 255), 0.3)],
    )
    layer.shape(lambda d, s: d.rectangle((x0 * s, top * s, x1 * s, ground * s), fill=255), wall)
    roof = [(x0 - bw * 0.08, top), (cx, top - bh * 0.7), (x1 + bw * 0.08, top)]
    layer.shape(
        lambda d, s: d.polygon(_scaled(roof, s), fill=255), mix(palette.subject, (40, 20, 20), 0.45)
    )
    door = (cx - bw * 0.08, ground - bh * 0.55, cx + bw * 0.08, ground)
    win = [
        (x0 + bw * 0.12, top + bh * 0.25, x0 + bw * 0.32, top + bh * 0.5),
        (x1 - bw * 0.32, top + bh * 0.25, x1 - bw * 0.12, top + bh * 0.5),
    ]
    layer.shape(
        lambda d, s: d.rectangle(tuple(v * s for v in door), fill=255),
        mix(palette.subject, (30, 20, 20), 0.6),
    )
    warm = (255, 210, 130)
    layer.shape(lambda d, s: [d.rectangle(tuple(v * s for v in r), fill=255) for r in win], warm)
    for r in win:
        layer.paint(
            glow_mask(layer.size, ((r[0] + r[2]) / 2, (r[1] + r[3]) / 2), bw * 0.4, 2.5), warm, 0.35
        )


def _flowers(layer, rng, cx, ground, u, palette: Palette) -> None:
    colours = [palette.subject, *palette.accents[:2]]
    blooms = []
    for i in range(rng.randint(3, 6)):
        x = cx + rng.uniform(-1, 1) * u * 0.28
        stem = u * rng.uniform(0.14, 0.3)
        blooms.append(
            (
                x,
                ground + rng.uniform(-0.02, 0.03) * u,
                stem,
                u * rng.uniform(0.03, 0.05),
                colours[i % len(colours)],
            )
        )
    green = mix((50, 130, 70), palette.ground, 0.3)
    layer.shape(
        lambda d, s: (
            [
                d.line(
                    _scaled([(x, y), (x + stem * 0.08, y - stem * 0.5), (x, y - stem)], s),
                    fill=255,
                    width=max(1, round(u * 0.006 * s)),
                    joint="curve",
                )
                for x, y, stem, _, _ in blooms
            ]
            + [
                d.ellipse(
                    (
                        (x - stem * 0.12) * s,
                        (y - stem * 0.45) * s,
                        (x + stem * 0.02) * s,
                        (y - stem * 0.38) * s,
                    ),
                    fill=255,
                )
                for x, y, stem, _, _ in blooms
            ]
        ),
        green,
    )
    for x, y, stem, r, colour in blooms:
        top = (x, y - stem)
        petals = [
            (top[0] + r * math.cos(k * math.tau / 6), top[1] + r * math.sin(k * math.tau / 6))
            for k in range(6)
        ]
        layer.shape(
            lambda d, s, p=petals, r=r: [
                d.ellipse(circle_box(px, py, r * 0.75, s), fill=255) for px, py in p
            ],
            colour,
        )
        layer.shape(
            lambda d, s, t=top, r=r: d.ellipse(circle_box(*t, r * 0.45, s), fill=255),
            (250, 210, 90),
        )


def _heart(layer, rng, cx, ground, u, palette: Palette) -> None:
    r = u * 0.016
    cy = ground - u * 0.36
    points = [
        (
            cx + r * 16 * math.sin(t) ** 3,
            cy
            - r * (13 * math.cos(t) - 5 * math.cos(2 * t) - 2 * math.cos(3 * t) - math.cos(4 * t)),
        )
        for t in (k * math.tau / 200 for k in range(200))
    ]
    layer.paint(glow_mask(layer.size, (cx, cy), r * 30, 2), palette.subject, 0.4)
    fill = vertical_gradient(
        layer.size, [mix(palette.subject, (255, 255, 255), 0.35), palette.subject]
    )
    layer.shape(lambda d, s: d.polygon(_scaled(points, s), fill=255), fill)


def _orb(layer, rng, cx, ground, u, palette: Palette) -> None:
    r = u * 0.16
    cy = ground - r * 1.6
    _shadow(layer, cx, ground, r * 0.9, r * 0.12)
    layer.paint(glow_mask(layer.size, (cx, cy), r * 2.4, 2), palette.subject, 0.35)
    body = vertical_gradient(
        layer.size,
        [
            mix(palette.subject, (255, 255, 255), 0.45),
            palette.subject,
            mix(palette.subject, (0, 0, 0), 0.45),
        ],
    )
    layer.shape(lambda d, s: d.ellipse(circle_box(cx, cy, r, s), fill=255), body)
    layer.paint(
        glow_mask(layer.size, (cx - r * 0.35, cy - r * 0.4), r * 0.6, 1.6), (255, 255, 255), 0.55
    )


def _abstract(layer, rng, palette: Palette) -> None:
    w, h = layer.size
    u = min(w, h)
    colours = [palette.subject, *palette.accents, palette.light]
    for _ in range(rng.randint(5, 8)):
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), u * rng.uniform(0.08, 0.32)
        layer.shape(
            lambda d, s, c=(cx, cy, r): d.ellipse(circle_box(*c, s), fill=255),
            rng.choice(colours),
            blur=u * rng.uniform(0.0, 0.03),
            opacity=rng.uniform(0.25, 0.6),
        )
    for _ in range(rng.randint(2, 4)):
        cx, cy, r = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h, u * rng.uniform(0.1, 0.3)
        layer.shape(
            lambda d, s, c=(cx, cy, r): d.ellipse(
                circle_box(*c, s), outline=255, width=max(1, round(u * 0.006 * s))
            ),
            palette.light,
            opacity=0.7,
        )
    for _ in range(rng.randint(1, 3)):
        y = rng.uniform(0.2, 0.8) * h
        slope = rng.uniform(-0.4, 0.4) * h
        band = [(0, y), (w, y + slope), (w, y + slope + u * 0.05), (0, y + u * 0.05)]
        layer.shape(
            lambda d, s, b=band: d.polygon(_scaled(b, s), fill=255),
            palette.light,
            blur=u * 0.02,
            opacity=0.25,
        )


# --- finishing ------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _vignette(size: tuple[int, int]) -> Image.Image:
    # 255 in the middle, darker towards the corners.
    ellipse = Image.radial_gradient("L").resize(size, Image.Resampling.BILINEAR)
    return ellipse.point(
        lambda v: round(255 * (1 - 0.28 * min(1.0, max(0.0, (v - 80) / 140)) ** 1.6))
    )


def finish(image: Image.Image, *, mark: bool = True) -> Image.Image:
    """Return `image` (RGB) with a soft vignette, a trace of film grain and (unless told
    otherwise) the mark."""
    black = Image.new("RGB", image.size)
    image = Image.composite(image, black, _vignette(image.size))
    # A little noise hides the banding of 8-bit gradients.
    image = Image.blend(image, _grain(image.size), 0.025)
    return add_mark(image) if mark else image


@lru_cache(maxsize=1)
def _grain_tile() -> Image.Image:
    # Seeded, unlike Image.effect_noise, so a picture is the same every time it is painted.
    rng = random.Random(7)
    tile = Image.new("L", (256, 256))
    tile.putdata([max(0, min(255, round(rng.gauss(128, 28)))) for _ in range(256 * 256)])
    return tile.convert("RGB")


@lru_cache(maxsize=2)
def _grain(size: tuple[int, int]) -> Image.Image:
    tile = _grain_tile()
    grain = Image.new("RGB", size)
    for y in range(0, size[1], tile.height):
        for x in range(0, size[0], tile.width):
            grain.paste(tile, (x, y))
    return grain


@lru_cache(maxsize=8)
def mark_sprite(size: tuple[int, int]) -> tuple[Image.Image, tuple[int, int]]:
    """Return the "local preview" mark for a picture of `size`: an RGBA image and where its
    top-left corner goes (the bottom-right corner of the picture)."""
    w, h = size
    u = min(w, h)
    font_size = max(9, round(u * 0.022))
    font = ImageFont.load_default(size=font_size)
    left, top, right, bottom = font.getbbox(MARK_TEXT)
    pad = round(font_size * 0.55)
    dot = round(font_size * 0.45)
    box_w = right - left + pad * 3 + dot
    box_h = bottom - top + pad * 1.4
    margin = max(4, round(u * 0.02))
    x0, y0 = w - margin - box_w, h - margin - box_h
    overlay = Image.new("RGBA", size, (0, 0, 0, 0))
    d = ImageDraw.Draw(overlay)
    d.rounded_rectangle((x0, y0, x0 + box_w, y0 + box_h), radius=box_h / 2, fill=(12, 14, 22, 120))
    cy = y0 + box_h / 2
    d.ellipse((x0 + pad, cy - dot / 2, x0 + pad + dot, cy + dot / 2), fill=(120, 220, 170, 230))
    d.text(
        (x0 + pad * 2 + dot - left, cy),
        MARK_TEXT,
        font=font,
        fill=(255, 255, 255, 215),
        anchor="lm",
    )
    box = overlay.getbbox() or (0, 0, 1, 1)
    return overlay.crop(box), box[:2]


def add_mark(image: Image.Image) -> Image.Image:
    """Return `image` (RGB, or RGBA) with the "local preview" mark."""
    sprite, corner = mark_sprite(image.size)
    marked = image.copy()
    if marked.mode == "RGBA":
        marked.alpha_composite(sprite, corner)
    else:
        marked.paste(sprite, corner, sprite)
    return marked


def render_image(
    prompt: str, seed: int, width: int, height: int, *, mark: bool = True, transparent=False
) -> Image.Image:
    """Return the finished RGB picture for `prompt` and `seed` at exactly width x height;
    `transparent`: RGBA, the near things alone on a transparent background (what a model
    asked for background=transparent makes)."""
    scene = paint_scene(prompt, seed, width, height, cutout=transparent)
    if transparent:
        return add_mark(scene.foreground) if mark else scene.foreground
    picture = scene.background
    picture.alpha_composite(scene.foreground)
    return finish(picture.convert("RGB"), mark=mark)
