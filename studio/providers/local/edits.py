"""Edit a picture as a prompt asks, with real Pillow operations: the local stand-in for edits.

`read_edits(prompt)` turns the words it understands ("black and white", "warmer", "blur the
background", "add the text 'Sale'"…) into operations, in prompt order; `edit_image` applies
them and, when the prompt names none it knows, applies a visible stylisation instead, so an
edit never comes back unchanged. A mask follows OpenAI's convention: its fully transparent
pixels are the area to edit, opaque pixels are kept (partial alpha blends).
"""

from __future__ import annotations

import io
import re
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PIL import Image, ImageChops, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

from studio.providers.local import paint


class EditInputError(ValueError):
    """The image or mask can't be used (unreadable, or a mask without transparency)."""


@dataclass(frozen=True)
class Edit:
    name: str
    arg: object = None


# (pattern, operation name), tried against the lower-cased prompt. The order of the matches
# in the prompt is the order they are applied in.
PATTERNS: list[tuple[str, str]] = [
    (r"black\s*(?:and|&)\s*white|\bb&w\b|gr[ae]y\s*scale|monochrome|desaturat", "grayscale"),
    (r"\bsepia|vintage|\bretro\b|old photo|antique|nostalgic|film look", "sepia"),
    (r"\bnight\b|midnight|moonlit|after dark", "night"),
    (r"sunset|golden hour|dusk\b", "sunset"),
    (r"\bwarm(?:er|th)?\b", "warmer"),
    (r"\bcool(?:er)?\b|\bcold(?:er)?\b|\bicy\b", "cooler"),
    (r"\bbright(?:er|en)?\b|\blight(?:er|en)\b|more light", "brighter"),
    (r"\bdark(?:er|en)?\b|\bdim(?:mer)?\b", "darker"),
    (r"(?:more|high|higher|increase|boost)\s+contrast|punchy|dramatic", "more_contrast"),
    (r"(?:less|low|lower|reduce)\s+contrast|\bfaded\b", "less_contrast"),
    (r"vivid|vibrant|saturat(?:e|ed|ion)|more colou?r|colou?rful", "saturate"),
    (r"\bmuted\b|\bpale\b|washed", "mute"),
    (r"blur(?:red|ry)?\s+(?:the\s+|out\s+the\s+)?background|bokeh|depth of field", "blur_bg"),
    (r"\bblur(?:red|ry)?\b|soften|\bsoft focus", "blur"),
    (r"sharp(?:en|er)?\b|crisp|more detail", "sharpen"),
    (r"\binvert|negative", "invert"),
    (r"posteri[sz]e|pop art|comic|cartoon", "posterize"),
    (r"pixel(?:ate|ated|ise|ize| art)|8-bit|mosaic", "pixelate"),
    (r"sketch|pencil|line art|drawing", "sketch"),
    (r"\bemboss", "emboss"),
    (r"watercolou?r|paint(?:ing|erly|ed)?\b|\boil\b|impressionis|artistic", "painterly"),
    (r"\bmirror|flip(?:ped)?\s+horizontal", "mirror"),
    (r"upside down|flip(?:ped)?\s+vertical", "flip"),
    (r"vignette", "vignette"),
]
_TEXT = re.compile(
    r"(?:text|words?|caption|title|headline|label|saying|says|reads?)\s*:?\s*"
    r"(?:\"([^\"]+)\"|“([^”]+)”|'([^']+)'|‘([^’]+)’)",
    re.IGNORECASE,
)
_COMBINE = re.compile(r"\b(?:combine|merge|blend|mix)\b", re.IGNORECASE)
# Colour words that are part of another operation's phrase, not a tint.
_NOT_TINTS = re.compile(r"black\s*(?:and|&)\s*white|\bb&w\b", re.IGNORECASE)


def read_edits(prompt: str) -> list[Edit]:
    """Return the edits `prompt` asks for that this renderer knows, in prompt order."""
    text = prompt.lower()
    found: list[tuple[int, Edit]] = []
    quoted = _TEXT.search(prompt)
    if quoted:
        found.append((quoted.start(), Edit("text", next(g for g in quoted.groups() if g))))
        # The words inside the quotes are the text, not instructions.
        text = text[: quoted.start()] + " " * (quoted.end() - quoted.start()) + text[quoted.end() :]
    for pattern, name in PATTERNS:
        match = re.search(pattern, text)
        if match:
            found.append((match.start(), Edit(name)))
    names = {e.name for _, e in found}
    if "night" in names:
        # "Make it night" already darkens; "dark" in the same prompt is the same wish.
        found = [(i, e) for i, e in found if e.name != "darker"]
    if "blur_bg" in names:
        found = [(i, e) for i, e in found if e.name != "blur"]
    for word in re.finditer(r"[a-z]+", _NOT_TINTS.sub(" ", text)):
        colour = paint.COLOURS.get(word.group())
        if colour and "grayscale" not in names:
            found.append((word.start(), Edit("tint", colour)))
            break
    return [e for _, e in sorted(found, key=lambda pair: pair[0])]


def open_image(data: bytes) -> Image.Image:
    """Return the picture in `data`; raise EditInputError when it isn't one Pillow reads."""
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except Exception as exc:  # Pillow raises many types for bad files
        raise EditInputError("The image could not be read as a PNG, JPEG or WebP.") from exc
    return ImageOps.exif_transpose(image)


def _rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        # Transparent areas become white, as they look on a page.
        backdrop = Image.new("RGBA", image.size, (255, 255, 255, 255))
        backdrop.alpha_composite(image.convert("RGBA"))
        return backdrop.convert("RGB")
    return image.convert("RGB")


def _gain(image: Image.Image, r: float, g: float, b: float, add=(0, 0, 0)) -> Image.Image:
    lut = []
    for gain, offset in zip((r, g, b), add, strict=True):
        lut.extend(max(0, min(255, round(v * gain + offset))) for v in range(256))
    return image.point(lut)


def _ellipse_mask(size: tuple[int, int], spread: float) -> Image.Image:
    """Return an L mask, 255 on a soft central ellipse (where a subject usually is)."""
    w, h = size
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).ellipse((w * 0.22, h * 0.12, w * 0.78, h * 0.92), fill=255)
    return mask.filter(ImageFilter.GaussianBlur(min(w, h) * spread))


def _vignette(image: Image.Image, amount: float) -> Image.Image:
    mask = _ellipse_mask(image.size, 0.12).point(lambda v: round(255 - (255 - v) * amount))
    return Image.composite(image, Image.new("RGB", image.size), mask)


def _sepia(image: Image.Image, k: float) -> Image.Image:
    toned = ImageOps.colorize(ImageOps.grayscale(image), "#2b1d0e", "#fff3d6", mid="#a0784c")
    return _vignette(Image.blend(image, toned, min(1.0, 0.85 * k)), 0.5)


def _night(image: Image.Image, k: float) -> Image.Image:
    dark = ImageEnhance.Brightness(image).enhance(max(0.3, 0.6 - 0.1 * (k - 1)))
    blue = _gain(dark, 0.72, 0.86, 1.12, (0, 4, 16))
    return _vignette(ImageEnhance.Contrast(blue).enhance(1.1), 0.7)


def _sunset(image: Image.Image, k: float) -> Image.Image:
    glow = paint.vertical_gradient(image.size, [(255, 140, 90), (255, 190, 120), (255, 236, 200)])
    warm = ImageChops.multiply(image, glow)
    return _gain(Image.blend(image, warm, min(1.0, 0.6 * k)), 1.06, 1.0, 0.92)


def _blur_background(image: Image.Image, k: float) -> Image.Image:
    blurred = image.filter(ImageFilter.GaussianBlur(min(image.size) * 0.018 * k))
    return Image.composite(image, blurred, _ellipse_mask(image.size, 0.06))


def _sketch(image: Image.Image, k: float) -> Image.Image:
    gray = ImageOps.grayscale(image)
    edges = ImageOps.invert(gray.filter(ImageFilter.FIND_EDGES))
    lines = ImageOps.autocontrast(edges, cutoff=2)
    return Image.blend(Image.merge("RGB", (lines,) * 3), image, max(0.0, 0.15 * (k - 0.75)))


def _pixelate(image: Image.Image, k: float) -> Image.Image:
    block = max(4, round(min(image.size) / 48 * k))
    small = image.resize(
        (max(1, image.width // block), max(1, image.height // block)), Image.Resampling.BOX
    )
    return small.resize(image.size, Image.Resampling.NEAREST)


def _tint(image: Image.Image, colour, k: float) -> Image.Image:
    dark = paint.mix(colour, (0, 0, 0), 0.75)
    light = paint.mix(colour, (255, 255, 255), 0.7)
    toned = ImageOps.colorize(ImageOps.grayscale(image), dark, light, mid=colour)
    return Image.blend(image, toned, min(0.8, 0.4 * k))


def _text(image: Image.Image, text: str) -> Image.Image:
    """Return `image` with `text` set large near the bottom, white on a soft shadow."""
    w, h = image.size
    lines = textwrap.wrap(text, width=max(8, min(28, len(text) // 2 + 8))) or [text]
    size = max(10, round(min(w, h) * 0.11))
    while size > 10:
        font = ImageFont.load_default(size=size)
        widest = max(font.getbbox(line)[2] for line in lines)
        if widest <= w * 0.86:
            break
        size = round(size * 0.9)
    font = ImageFont.load_default(size=size)
    block = "\n".join(lines)
    centre = (w / 2, h * 0.8 - (len(lines) - 1) * size * 0.6)
    stroke = max(1, size // 14)
    shadow = Image.new("L", image.size, 0)
    ImageDraw.Draw(shadow).multiline_text(
        (centre[0] + stroke, centre[1] + stroke * 2),
        block,
        font=font,
        fill=200,
        anchor="mm",
        align="center",
        stroke_width=stroke * 2,
        stroke_fill=200,
    )
    out = Image.composite(
        Image.new("RGB", image.size), image, shadow.filter(ImageFilter.GaussianBlur(stroke * 2))
    )
    ImageDraw.Draw(out).multiline_text(
        centre,
        block,
        font=font,
        fill=(255, 255, 255),
        anchor="mm",
        align="center",
        stroke_width=stroke,
        stroke_fill=(20, 20, 24),
    )
    return out


def stylise(image: Image.Image, prompt: str, seed: int) -> Image.Image:
    """Return `image` repainted: broad strokes, inked edges, a colour grade from the prompt's
    palette and a soft bloom. Used for "painterly" and when no known edit is named."""
    rng = paint.seeded(prompt, seed)
    palette = paint.make_palette(paint.read_prompt(prompt), rng)
    # Median filtering a reduced copy gives flat, brush-like patches cheaply.
    small = image.reduce(2) if min(image.size) >= 64 else image
    painted = small.filter(ImageFilter.MedianFilter(5)).resize(image.size, Image.Resampling.BICUBIC)
    edges = ImageOps.invert(ImageOps.grayscale(painted).filter(ImageFilter.FIND_EDGES))
    ink = edges.point(lambda v: 150 + v * 105 // 255).convert("RGB")
    painted = ImageChops.multiply(painted, ink)
    graded = ImageOps.colorize(
        ImageOps.grayscale(painted), palette.sky[0], palette.sky[-1], mid=palette.subject
    )
    out = Image.blend(painted, graded, 0.3 + 0.1 * rng.random())
    bloom = out.filter(ImageFilter.GaussianBlur(min(image.size) * 0.02))
    out = ImageChops.screen(out, Image.blend(Image.new("RGB", out.size), bloom, 0.3))
    return ImageEnhance.Color(out).enhance(1.2)


OPERATIONS: dict[str, Callable[[Image.Image, float], Image.Image]] = {
    "grayscale": lambda im, k: ImageEnhance.Contrast(ImageOps.grayscale(im).convert("RGB")).enhance(
        1 + 0.3 * (k - 1)
    ),
    "sepia": _sepia,
    "night": _night,
    "sunset": _sunset,
    "warmer": lambda im, k: _gain(im, 1 + 0.1 * k, 1 + 0.02 * k, 1 - 0.12 * k, (10 * k, 4, 0)),
    "cooler": lambda im, k: _gain(im, 1 - 0.1 * k, 1 + 0.01 * k, 1 + 0.1 * k, (0, 3, 12 * k)),
    "brighter": lambda im, k: ImageEnhance.Brightness(im).enhance(1 + 0.3 * k),
    "darker": lambda im, k: ImageEnhance.Brightness(im).enhance(max(0.2, 1 - 0.3 * k)),
    "more_contrast": lambda im, k: ImageEnhance.Contrast(im).enhance(1 + 0.4 * k),
    "less_contrast": lambda im, k: ImageEnhance.Contrast(im).enhance(max(0.2, 1 - 0.35 * k)),
    "saturate": lambda im, k: ImageEnhance.Color(im).enhance(1 + 0.6 * k),
    "mute": lambda im, k: ImageEnhance.Color(im).enhance(max(0.0, 1 - 0.45 * k)),
    "blur_bg": _blur_background,
    "blur": lambda im, k: im.filter(ImageFilter.GaussianBlur(min(im.size) * 0.008 * k)),
    "sharpen": lambda im, k: im.filter(ImageFilter.UnsharpMask(2, round(160 * k), 2)),
    "invert": lambda im, k: ImageOps.invert(im),
    "posterize": lambda im, k: ImageEnhance.Color(
        ImageOps.posterize(im.filter(ImageFilter.SMOOTH_MORE), 3 if k >= 1 else 4)
    ).enhance(1.4),
    "pixelate": _pixelate,
    "sketch": _sketch,
    "emboss": lambda im, k: Image.blend(im, im.filter(ImageFilter.EMBOSS), min(0.9, 0.6 * k)),
    "mirror": lambda im, k: ImageOps.mirror(im),
    "flip": lambda im, k: ImageOps.flip(im),
    "vignette": lambda im, k: _vignette(im, min(1.0, 0.7 * k)),
}
# How strongly variant `seed` applies the edits, so the `n` outputs of one call differ.
STRENGTHS = (1.0, 0.75, 1.3, 0.9, 1.15)


def edit_image(
    source: bytes,
    prompt: str,
    *,
    width: int,
    height: int,
    seed: int = 0,
    mask: bytes | None = None,
    references: Sequence[bytes] = (),
) -> Image.Image:
    """Return `source` edited as `prompt` asks, at width x height, with the preview mark.

    The picture is scaled and centre-cropped to the size. Raise EditInputError when the image
    or the mask can't be read, or the mask has no transparency to say where to edit.
    """
    size = (width, height)
    original = ImageOps.fit(_rgb(open_image(source)), size, Image.Resampling.LANCZOS)
    strength = STRENGTHS[seed % len(STRENGTHS)]
    edited = original
    if references and _COMBINE.search(prompt):
        for i, ref in enumerate(references, start=1):
            other = ImageOps.fit(_rgb(open_image(ref)), size, Image.Resampling.LANCZOS)
            edited = Image.blend(edited, other, 1 / (i + 1))
    edits = read_edits(prompt)
    if not edits and edited is original:
        edited = stylise(original, prompt, seed)
    for edit in edits:
        if edit.name == "painterly":
            edited = stylise(edited, prompt, seed)
        elif edit.name == "text":
            edited = _text(edited, str(edit.arg))
        elif edit.name == "tint":
            edited = _tint(edited, edit.arg, strength)
        else:
            edited = OPERATIONS[edit.name](edited, strength)
    if mask is not None:
        edited = Image.composite(edited, original, _edit_area(mask, size))
    return paint.add_mark(edited)


def _edit_area(mask: bytes, size: tuple[int, int]) -> Image.Image:
    """Return an L image, 255 where the edit applies: the mask's transparent pixels."""
    image = open_image(mask)
    if image.mode == "P":
        image = image.convert("RGBA")
    if "A" not in image.getbands():
        raise EditInputError(
            "The mask needs an alpha channel: make the area to edit fully transparent "
            "and the rest opaque (a PNG with transparency)."
        )
    alpha = ImageOps.fit(image.getchannel("A"), size, Image.Resampling.BILINEAR)
    return ImageOps.invert(alpha)
