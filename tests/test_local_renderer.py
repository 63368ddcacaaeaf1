"""The local renderer's pictures and edits: real PNGs that follow the prompt, honestly marked."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageStat

from studio.catalog.tables import MODELS
from studio.providers.base import InputImage, MediaOutput, ProviderError
from studio.providers.local import LocalProvider, paint


@pytest.fixture
def local():
    return LocalProvider()


def generate(local, prompt: str, size: str = "240x160", n: int = 1) -> list[Image.Image]:
    result = local.generate_images(model="gpt-image-2", prompt=prompt, n=n, size=size, quality=None)
    images = []
    for output in result.outputs:
        assert output.content_type == "image/png"
        image = Image.open(output.path)
        assert image.format == "PNG"
        images.append(image.convert("RGB"))
    return images


def png(image: Image.Image, mode: str = "RGB") -> bytes:
    buf = io.BytesIO()
    image.convert(mode).save(buf, "PNG")
    return buf.getvalue()


def edit(local, image: bytes, prompt: str, size="240x160", mask=None, n=1) -> list[Image.Image]:
    result = local.edit_images(
        model="gpt-image-2",
        prompt=prompt,
        images=[InputImage(data=image)],
        mask=InputImage(data=mask) if mask else None,
        n=n,
        size=size,
        quality=None,
    )
    return [Image.open(o.path).convert("RGB") for o in result.outputs]


def unmarked(image: Image.Image) -> Image.Image:
    """Return `image` with the mark's corner blacked out, for comparing the rest."""
    sprite, (x, y) = paint.mark_sprite(image.size)
    out = image.copy()
    ImageDraw.Draw(out).rectangle((x, y, x + sprite.width, y + sprite.height), fill=(0, 0, 0))
    return out


def grey(image: Image.Image) -> bool:
    """Return True when every pixel of `image` is (nearly) grey."""
    r, g, b = image.split()
    return all(ImageChops.difference(x, y).getextrema()[1] <= 2 for x, y in ((r, g), (g, b)))


def whites(image: Image.Image) -> int:
    """Return how many pixels of `image` are nearly white."""
    darkest = ImageChops.darker(ImageChops.darker(*image.split()[:2]), image.split()[2])
    return darkest.point(lambda v: 255 if v > 240 else 0).histogram()[255]


def mean(image: Image.Image) -> list[float]:
    return ImageStat.Stat(unmarked(image)).mean


def changed(a: Image.Image, b: Image.Image) -> float:
    """Return the mean absolute difference of two pictures, 0..255."""
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3


@pytest.fixture
def photo() -> Image.Image:
    """A colourful 240x160 picture to edit."""
    return paint.render_image("a red bicycle in a green forest at sunset", 3, 240, 160, mark=False)


# --- generate ------------------------------------------------------------------------------


def test_it_paints_a_png_of_the_requested_size_that_is_not_a_flat_colour(local):
    (image,) = generate(local, "mountains at sunset", size="320x200")
    assert image.size == (320, 200)
    assert len(image.getcolors(maxcolors=1 << 20)) > 2000
    top, bottom = image.crop((0, 0, 320, 20)), image.crop((0, 150, 320, 170))
    assert changed(top.resize((32, 2)), bottom.resize((32, 2))) > 10


def test_the_n_images_of_one_call_differ_and_a_prompt_repeats_exactly(local):
    first = generate(local, "a blue circle", n=3)
    assert len({im.tobytes() for im in first}) == 3
    again = generate(local, "a blue circle", n=3)
    assert [im.tobytes() for im in again] == [im.tobytes() for im in first]


def test_it_renders_large_sizes_exactly(local):
    (image,) = generate(local, "a city skyline at night", size="1536x864")
    assert image.size == (1536, 864)


def test_the_words_of_the_prompt_choose_the_palette(local):
    (night,) = generate(local, "a quiet night")
    (pastel,) = generate(local, "pastel dreamy sky")
    (forest,) = generate(local, "a forest")
    assert sum(mean(night)) < sum(mean(pastel)) / 2
    r, g, b = mean(forest)
    assert g > r and g > b


def test_a_colour_word_colours_the_subject(local):
    (red,) = generate(local, "a red circle", size="200x200")
    (blue,) = generate(local, "a blue circle", size="200x200")
    # The orb stands in the middle of the picture.
    r1, _, b1 = ImageStat.Stat(red.crop((90, 110, 110, 130))).mean
    r2, _, b2 = ImageStat.Stat(blue.crop((90, 110, 110, 130))).mean
    assert r1 > b1 + 60 and b2 > r2 + 60


def test_subjects_become_shapes(local):
    (plain,) = generate(local, "pastel")
    (bicycle,) = generate(local, "pastel bicycle")
    assert changed(plain, bicycle) > 3


def test_every_output_carries_the_local_preview_mark(local):
    (image,) = generate(local, "a red bicycle", size="400x300")
    bare = paint.render_image("a red bicycle", 0, 400, 300, mark=False)
    difference = ImageChops.difference(image, bare).getbbox()
    sprite, (x, y) = paint.mark_sprite((400, 300))
    assert difference is not None
    # Only the mark's corner differs, and it is in the bottom-right corner.
    assert x <= difference[0] and y <= difference[1]
    assert difference[2] <= x + sprite.width and difference[3] <= y + sprite.height
    assert x > 200 and y > 250


def test_outputs_live_in_the_providers_own_storage(local, settings):
    result = local.generate_images(model="veo", prompt="x", n=2, size="64x64", quality=None)
    root = Path(settings.LOCAL_PROVIDER_MEDIA_DIR)
    for output in result.outputs:
        assert Path(output.path).parent == root / "images"
        assert not Path(output.path).is_relative_to(settings.MEDIA_ROOT)
    assert sorted(p.name for p in (root / "images").iterdir()) == sorted(
        Path(o.path).name for o in result.outputs
    )  # and no half-written file is left beside them


def test_a_malformed_size_is_a_permanent_error(local):
    with pytest.raises(ProviderError) as e:
        local.generate_images(model="gpt-image-2", prompt="x", n=1, size="big", quality=None)
    assert e.value.permanent and e.value.status == 400 and e.value.code == "invalid_request_error"


# --- edit ----------------------------------------------------------------------------------


def test_black_and_white_drains_the_colour(local, photo):
    (out,) = edit(local, png(photo), "make it black and white")
    assert grey(unmarked(out))
    assert changed(out, photo) > 5


@pytest.mark.parametrize(
    ("prompt", "check"),
    [
        ("warmer please", lambda before, after: after[0] > before[0] and after[2] < before[2]),
        ("make it cooler", lambda before, after: after[2] > before[2] and after[0] < before[0]),
        ("brighter", lambda before, after: sum(after) > sum(before) + 30),
        ("a little darker", lambda before, after: sum(after) < sum(before) - 30),
        ("make it night", lambda before, after: sum(after) < sum(before) - 60),
        ("invert it", lambda before, after: abs(sum(after) - (765 - sum(before))) < 40),
        ("sepia, vintage", lambda before, after: after[0] > after[1] > after[2]),
    ],
)
def test_colour_edits_move_the_colours_the_way_the_words_say(local, photo, prompt, check):
    (out,) = edit(local, png(photo), prompt)
    assert check(mean(photo), mean(out)), (mean(photo), mean(out))


def test_blur_the_background_keeps_the_centre_and_softens_the_edges(local, photo):
    (out,) = edit(local, png(photo), "blur the background")
    centre = (100, 60, 140, 100)
    corner = (0, 90, 40, 150)  # trees at the left edge
    assert changed(out.crop(centre), photo.crop(centre)) < 2
    assert changed(out.crop(corner), photo.crop(corner)) > 1

    def detail(im):  # high frequencies: a picture minus its blurred self
        return ImageStat.Stat(ImageChops.difference(im, im.resize((25, 20)).resize(im.size))).mean

    assert sum(detail(out.crop(corner))) < sum(detail(photo.crop(corner)))


def test_sharpen_adds_contrast_at_edges(local, photo):
    (out,) = edit(local, png(photo), "sharpen it")
    assert ImageStat.Stat(out.convert("L")).stddev[0] > ImageStat.Stat(photo.convert("L")).stddev[0]


def test_it_draws_the_text_the_prompt_quotes(local, photo):
    (out,) = edit(local, png(photo), "add the text 'SALE'")
    band = (80, 115, 160, 142)  # the lower middle, where the text goes
    assert changed(out.crop(band), photo.crop(band)) > 10
    assert whites(out.crop(band)) > 60 and whites(photo.crop(band)) < 5
    # The quoted word is the text, not an instruction: nothing else changed the top.
    top = (0, 0, 240, 40)
    assert changed(out.crop(top), photo.crop(top)) < 1


def test_a_mask_limits_the_edit_to_its_transparent_pixels(local, photo):
    mask = Image.new("RGBA", photo.size, (0, 0, 0, 255))
    ImageDraw.Draw(mask).rectangle((0, 0, 119, 159), fill=(0, 0, 0, 0))  # edit the left half
    (out,) = edit(local, png(photo), "black and white", mask=png(mask, "RGBA"))
    left, right = (0, 0, 110, 160), (130, 0, 240, 120)
    assert grey(out.crop(left))
    assert changed(out.crop(right), photo.crop(right)) < 1


def test_a_mask_without_transparency_is_refused(local, photo):
    with pytest.raises(ProviderError) as e:
        edit(local, png(photo), "night", mask=png(Image.new("L", photo.size, 0), "L"))
    assert e.value.permanent and e.value.code == "invalid_request_error"
    assert "alpha" in e.value.message


def test_an_unknown_wish_still_visibly_restyles_the_picture(local, photo):
    (out,) = edit(local, png(photo), "make it feel like a memory")
    assert changed(out, photo) > 8


def test_an_edit_comes_out_at_the_requested_size_and_n_edits_differ(local, photo):
    outs = edit(local, png(photo.resize((300, 120))), "warmer", size="128x128", n=2)
    assert [o.size for o in outs] == [(128, 128)] * 2
    assert outs[0].tobytes() != outs[1].tobytes()


def test_an_unreadable_image_is_a_permanent_error(local):
    with pytest.raises(ProviderError) as e:
        edit(local, b"not a picture", "warmer")
    assert e.value.permanent and e.value.status == 400


# --- failure and latency injection, models, fetch ----------------------------------------------


def test_a_fail_rate_of_one_fails_every_image_call_on_purpose(local, settings, photo):
    settings.LOCAL_PROVIDER_FAIL_RATE = 1.0
    for call in (lambda: generate(local, "x"), lambda: edit(local, png(photo), "warmer")):
        with pytest.raises(ProviderError) as e:
            call()
        assert not e.value.permanent
        assert (e.value.status, e.value.code) == (503, "model_unavailable")
        assert "on purpose" in e.value.message and "LOCAL_PROVIDER_FAIL_RATE" in e.value.message


def test_latency_slows_every_call(local, settings):
    settings.LOCAL_PROVIDER_LATENCY = 0.3
    started = time.monotonic()
    local.list_models()
    assert time.monotonic() - started >= 0.3


def test_it_lists_the_catalog_as_v1_models(local):
    models = local.list_models()
    assert [m["id"] for m in models] == list(MODELS)
    for m in models:
        assert m["object"] == "model" and m["owned_by"] == "pixapi-studio-local"
        assert isinstance(m["created"], int)


def test_fetch_copies_an_output_file_into_ours(local):
    output = local.generate_images(model="x", prompt="y", n=1, size="64x64", quality=None).outputs[
        0
    ]
    dest = io.BytesIO()
    fetched = local.fetch(output, dest)
    assert fetched.content_type == "image/png"
    assert dest.getvalue() == Path(output.path).read_bytes()
    assert fetched.size == len(dest.getvalue())


def test_fetch_refuses_a_file_outside_the_providers_storage(local, tmp_path):
    secret = tmp_path / "secret.png"
    secret.write_bytes(png(Image.new("RGB", (4, 4))))
    with pytest.raises(ProviderError) as e:
        local.fetch(MediaOutput(path=str(secret), content_type="image/png"), io.BytesIO())
    assert e.value.permanent
