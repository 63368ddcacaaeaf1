"""Every row and column of every table in ../shared/PRICING.md, transcribed by hand."""

from __future__ import annotations

import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command

from studio.catalog.quote import quote
from studio.errors import StudioError

D = Decimal

# (model, size) -> credits per image, for the Gemini table.
GEMINI = [
    ("gemini-2.5-flash-image", "512x512", "2"),
    ("gemini-2.5-flash-image", "1024x1024", "2"),
    ("gemini-3.1-flash-image-preview", "512x512", "4"),
    ("gemini-3.1-flash-image-preview", "1024x1024", "4"),
    ("gemini-3.1-flash-image-preview", "2048x2048", "6"),
    ("gemini-3.1-flash-image-preview", "4096x4096", "8"),
    ("gemini-3-pro-image-preview", "512x512", "8"),
    ("gemini-3-pro-image-preview", "1024x1024", "8"),
    ("gemini-3-pro-image-preview", "2048x2048", "8"),
    ("gemini-3-pro-image-preview", "4096x4096", "16"),
]

# (size, quality) -> credits for GPT Image 2.
GPT_IMAGE_2 = [
    ("1024x1024", "low", "1"),
    ("1024x1024", "medium", "4"),
    ("1024x1024", "high", "14"),
    ("1024x1024", "auto", "14"),
    ("2048x1152", "low", "2"),
    ("2048x1152", "medium", "17"),
    ("2048x1152", "high", "67"),
    ("2048x1152", "auto", "67"),
    ("3840x2160", "low", "4"),
    ("3840x2160", "medium", "34"),
    ("3840x2160", "high", "133"),
    ("3840x2160", "auto", "133"),
]

# (model, quality, size) -> credits per second.
VIDEO = [
    ("veo", "lite", "1280x720", "1"),
    ("veo", "lite", "1920x1080", "1.6"),
    ("veo", "fast", "1280x720", "2"),
    ("veo", "fast", "1920x1080", "2.4"),
    ("veo", "fast", "3840x2160", "6"),
    ("veo", "standard", "1280x720", "8"),
    ("veo", "standard", "1920x1080", "8"),
    ("veo", "standard", "3840x2160", "12"),
    ("kling", None, "1280x720", "2.24"),
    ("wan", None, "1280x720", "2"),
    ("wan", None, "1920x1080", "3"),
]


def credits(request: dict) -> Decimal:
    return quote(request).credits


def refusal(request: dict) -> StudioError:
    with pytest.raises(StudioError) as info:
        quote(request)
    return info.value


@pytest.mark.parametrize(("model", "size", "price"), GEMINI)
def test_gemini_prices_per_image(model, size, price):
    assert credits({"model": model, "size": size}) == Decimal(price)
    assert credits({"model": model, "size": size, "n": 3}) == Decimal(price) * 3


@pytest.mark.parametrize(("size", "quality", "price"), GPT_IMAGE_2)
def test_gpt_image_2_prices_by_tier_and_quality(size, quality, price):
    assert credits({"model": "gpt-image-2", "size": size, "quality": quality}) == Decimal(price)


@pytest.mark.parametrize(
    ("quality", "price"),
    [("low", "1"), ("medium", "4"), ("high", "14"), ("auto", "14"), (None, "14")],
)
@pytest.mark.parametrize("size", ["1024x1024", "1536x1024", "1024x1536", "auto"])
def test_gpt_image_15_bills_as_the_gpt_image_2_1k_row(size, quality, price):
    assert credits({"model": "gpt-image-1.5", "size": size, "quality": quality}) == Decimal(price)


@pytest.mark.parametrize(("model", "quality", "size", "rate"), VIDEO)
@pytest.mark.parametrize("duration", [1, 5, 10])
def test_video_prices_per_second(model, quality, size, rate, duration):
    q = quote({"model": model, "quality": quality, "size": size, "duration": duration})
    assert q.credits == (Decimal(rate) * duration).quantize(Decimal("0.01"))
    assert q.unit_credits == Decimal(rate)


def test_the_documented_example_kling_five_seconds():
    assert str(credits({"model": "kling", "duration": 5})) == "11.20"


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [
        ("nano-banana", "gemini-2.5-flash-image"),
        ("nano-banana-2", "gemini-3.1-flash-image-preview"),
        ("nano-banana-pro", "gemini-3-pro-image-preview"),
    ],
)
def test_aliases_resolve_to_the_canonical_id(alias, canonical):
    q = quote({"model": alias})
    assert q.model == canonical
    assert q.credits == quote({"model": canonical}).credits


@pytest.mark.parametrize(
    ("model", "size", "tier", "dims"),
    [
        ("gemini-3.1-flash-image-preview", None, "1K", "1024x1024"),
        ("gemini-3.1-flash-image-preview", "auto", "1K", "1024x1024"),
        ("gemini-3.1-flash-image-preview", "512", "512", "512x512"),
        ("gemini-3.1-flash-image-preview", "1K", "1K", "1024x1024"),
        ("gemini-3.1-flash-image-preview", "2k", "2K", "2048x2048"),
        ("gemini-3.1-flash-image-preview", "4K", "4K", "4096x4096"),
        ("gemini-3.1-flash-image-preview", "16:9", "1K", "1344x768"),
        ("gemini-3.1-flash-image-preview", "1536x1024", "1K", "1536x1024"),
        ("gemini-3.1-flash-image-preview", "1537x1024", "2K", "1537x1024"),
        ("gemini-3.1-flash-image-preview", "2049x100", "4K", "2049x100"),
        ("gpt-image-2", "auto", "1K", "1024x1024"),
        ("gpt-image-2", "9:16", "1K", "864x1536"),
        ("gpt-image-2", "1536x1024", "1K", "1536x1024"),
    ],
)
def test_sizes_map_to_tiers_by_long_edge(model, size, tier, dims):
    q = quote({"model": model, "size": size})
    assert (q.tier, q.size) == (tier, dims)


@pytest.mark.parametrize("preset", ["1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3"])
@pytest.mark.parametrize("model", ["gemini-2.5-flash-image", "gpt-image-2"])
def test_every_ratio_preset_renders_at_the_standard_tier(model, preset):
    q = quote({"model": model, "size": preset})
    assert q.tier == "1K"
    w, h = q.width, q.height
    a, b = (int(x) for x in preset.split(":"))
    assert abs(w / h - a / b) / (a / b) < 0.03  # Gemini renders its own near-ratio sizes


def test_gemini_ignores_quality():
    assert credits({"model": "nano-banana", "quality": "low"}) == Decimal("2")
    assert quote({"model": "nano-banana", "quality": "whatever"}).quality is None


def test_kling_and_wan_ignore_quality_and_veo_defaults_to_lite():
    assert credits({"model": "kling", "quality": "standard"}) == Decimal("11.20")
    assert quote({"model": "veo"}).quality == "lite"
    assert credits({"model": "veo"}) == Decimal("5.00")


def test_video_defaults_and_presets():
    q = quote({"model": "wan"})
    assert (q.size, q.tier, q.duration) == ("1280x720", "720P", 5)
    assert quote({"model": "wan", "size": "9:16"}).size == "720x1280"
    assert quote({"model": "wan", "size": "1:1"}).tier == "720P"


def test_capture_follows_what_was_delivered_and_never_exceeds_the_quote():
    q = quote({"model": "kling", "duration": 5})
    assert q.for_delivery(5) == Decimal("11.20")
    assert q.for_delivery(3) == Decimal("6.72")
    assert q.for_delivery(Decimal("5.04")) == Decimal("11.20")
    assert q.for_delivery(0) == Decimal("0.00")
    images = quote({"model": "gpt-image-2", "n": 4, "quality": "medium"})
    assert images.for_delivery(3) == Decimal("12.00")


@pytest.mark.parametrize(
    ("request_", "param", "words"),
    [
        (
            {"model": "gemini-2.5-flash-image", "size": "2K"},
            "size",
            "gemini-2.5-flash-image offers sizes up to 1536 px; "
            "use gemini-3.1-flash-image-preview for 2K",
        ),
        ({"model": "gemini-2.5-flash-image", "size": "4096x4096"}, "size", "for 4K"),
        ({"model": "gemini-3-pro-image-preview", "size": "4097x100"}, "size", "too large"),
        ({"model": "gpt-image-2", "size": "3856x2160"}, "size", "at most 3840 px"),
        ({"model": "gpt-image-2", "size": "1000x1000"}, "size", "multiples of 16"),
        ({"model": "gpt-image-2", "size": "3072x1008"}, "size", "at most 3:1"),
        ({"model": "gpt-image-2", "size": "800x800"}, "size", "655,360"),
        ({"model": "gpt-image-2", "size": "2K"}, "size", "for the Gemini models"),
        ({"model": "gpt-image-2", "quality": "ultra"}, "quality", "auto, low, medium, high"),
        ({"model": "gpt-image-2", "quality": "ultra"}, "quality", "standard = medium, hd = high"),
        (
            {"model": "gpt-image-2", "size": "256x256"},
            "size",
            "256x256 is too small for gpt-image-2: it needs at least 655,360 total pixels "
            "(this is 65,536), such as 1024x1024, 1536x864",
        ),
        (
            {"model": "gemini-3.1-flash-image-preview-2k", "size": "1024x1024"},
            "size",
            "gemini-3.1-flash-image-preview-2k makes 2K images (such as 2048x2048), and size "
            "1024x1024 is 1K",
        ),
        ({"model": "gemini-3-pro-image-preview-4k", "size": "16:9"}, "size", "use a 4K size"),
        (
            {"model": "gpt-image-1.5", "size": "2048x2048"},
            "size",
            "1024x1024, 1536x1024, 1024x1536",
        ),
        ({"model": "gpt-image-1.5", "size": "16:9"}, "size", "use gpt-image-2"),
        ({"model": "nano-banana", "size": "big"}, "size", "WIDTHxHEIGHT"),
        ({"model": "nano-banana", "size": 1024}, "size", "must be a string"),
        ({"model": "nano-banana", "size": "8x8"}, "size", "too small"),
        ({"model": "nano-banana", "n": 0}, "n", "from 1 to 10"),
        ({"model": "nano-banana", "n": 11}, "n", "from 1 to 10"),
        ({"model": "nano-banana", "n": "2"}, "n", "whole number"),
        ({"model": "nano-banana", "n": True}, "n", "whole number"),
        ({"model": "nano-banana", "n": 1.5}, "n", "whole number"),
        ({"model": "veo", "duration": 0}, "duration", "1 to 10"),
        ({"model": "veo", "duration": 11}, "duration", "1 to 10"),
        ({"model": "veo", "duration": 2.5}, "duration", "whole number"),
        ({"model": "veo", "quality": "ultra"}, "quality", "lite, fast, standard"),
        ({"model": "veo", "size": "3842x2160"}, "size", "too large"),
        ({"model": "veo", "size": "4:3"}, "size", "not a video size"),
        ({"model": "veo", "size": "1281x721"}, "size", "even"),
        (
            {"model": "veo", "quality": "lite", "size": "3840x2160"},
            "size",
            "use quality fast or standard for 4K",
        ),
        ({"model": "kling", "size": "1920x1080"}, "size", "kling offers 720P; use veo for 1080P"),
        ({"model": "wan", "size": "3840x2160"}, "size", "wan offers 720P and 1080P"),
        (
            {"model": "veo", "endpoint": "images.generations"},
            "model",
            "use POST /v1/async/videos/generations",
        ),
        (
            {"model": "gpt-image-2", "endpoint": "videos.generations"},
            "model",
            "use POST /v1/images/generations or POST /v1/images/edits",
        ),
        ({"model": "gpt-image-2", "endpoint": "images.variations"}, "endpoint", "endpoint must be"),
        ({}, "model", "model is required"),
    ],
)
def test_refusals_are_400s_that_say_what_is_accepted(request_, param, words):
    error = refusal(request_)
    assert (error.status, error.type, error.code, error.param) == (
        400,
        "invalid_request_error",
        "invalid_request_error",
        param,
    )
    assert words in error.message


@pytest.mark.parametrize(
    ("model_id", "canonical", "tier", "size", "price"),
    [
        ("gemini-3.1-flash-image-preview-512", "gemini-3.1-flash-image-preview", "512", 512, "4"),
        ("gemini-3.1-flash-image-preview-2k", "gemini-3.1-flash-image-preview", "2K", 2048, "6"),
        ("gemini-3.1-flash-image-preview-4k", "gemini-3.1-flash-image-preview", "4K", 4096, "8"),
        ("gemini-3-pro-image-preview-2k", "gemini-3-pro-image-preview", "2K", 2048, "8"),
        ("gemini-3-pro-image-preview-4k", "gemini-3-pro-image-preview", "4K", 4096, "16"),
    ],
)
def test_the_credit_tables_ids_are_their_model_at_their_tier(
    model_id, canonical, tier, size, price
):
    q = quote({"model": model_id})
    assert (q.model, q.tier, q.size, q.credits) == (canonical, tier, f"{size}x{size}", D(price))
    assert quote({"model": model_id, "size": "auto"}).size == f"{size}x{size}"
    assert quote({"model": model_id, "size": tier}).size == f"{size}x{size}"


def test_a_per_tier_id_takes_other_sizes_of_its_tier():
    q = quote({"model": "gemini-3.1-flash-image-preview-2k", "size": "2048x1152", "n": 2})
    assert (q.tier, q.width, q.height, q.credits) == ("2K", 2048, 1152, D("12.00"))


@pytest.mark.parametrize("model", ["gpt-image-2", "gpt-image-1.5"])
def test_openais_standard_and_hd_are_medium_and_high_on_gpt_models(model):
    assert quote({"model": model, "quality": "standard"}).quality == "medium"
    assert quote({"model": model, "quality": "HD"}).quality == "high"
    assert quote({"model": model, "quality": "hd"}).credits == D("14.00")


def test_an_unknown_model_is_404_model_not_found():
    error = refusal({"model": "dall-e-9"})
    assert (error.status, error.type, error.code, error.param) == (
        404,
        "model_not_found",
        "model_not_found",
        "model",
    )
    assert "gpt-image-2" in error.message


def test_edits_cost_the_same_as_generations():
    for model in ("nano-banana-pro", "gpt-image-2"):
        gen = quote({"model": model, "endpoint": "images.generations", "n": 2})
        edit = quote({"model": model, "endpoint": "images.edits", "n": 2})
        assert gen.credits == edit.credits


def run_quote(body: str) -> tuple[int, dict]:
    out = io.StringIO()
    try:
        call_command("quote", body, stdout=out)
        code = 0
    except SystemExit as e:
        code = e.code
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 1
    return code, json.loads(lines[0])


def test_quote_command_prints_one_json_line():
    code, data = run_quote('{"model": "kling", "duration": 5}')
    assert code == 0
    assert data["model"] == "kling"
    assert data["credits"] == "11.20"


def test_quote_command_follows_the_model_kind_without_an_endpoint():
    assert run_quote('{"model": "veo"}')[1]["endpoint"] == "videos.generations"
    assert run_quote('{"model": "nano-banana"}')[1]["endpoint"] == "images.generations"
    assert (
        run_quote('{"model": "nano-banana", "endpoint": "images.edits"}')[1]["endpoint"]
        == "images.edits"
    )


@pytest.mark.parametrize(
    ("body", "code_"),
    [
        ('{"model": "nope"}', "model_not_found"),
        ('{"model": "veo", "duration": 99}', "invalid_request_error"),
        ("not json", "invalid_request_error"),
        ("[1, 2]", "invalid_request_error"),
    ],
)
def test_quote_command_prints_errors_and_exits_1(body, code_):
    code, data = run_quote(body)
    assert code == 1
    assert set(data["error"]) == {"type", "code", "param", "message"}
    assert data["error"]["code"] == code_


def test_no_float_touches_money():
    """Every model field that holds credits is a DecimalField, and the money modules never
    convert to float."""
    import pathlib

    from django.apps import apps
    from django.db import models

    money_words = (
        "credit",
        "amount",
        "balance",
        "price",
        "captured",
        "released",
        "remaining",
        "delta",
        "limit",
        "cap",
    )
    for model in apps.get_models():
        for f in model._meta.get_fields():
            if getattr(f, "concrete", False) and any(w in f.name for w in money_words):
                numeric = isinstance(
                    f, (models.FloatField, models.IntegerField, models.DecimalField)
                )
                if numeric and not isinstance(f, models.ForeignKey):
                    assert isinstance(f, models.DecimalField), f"{model.__name__}.{f.name}"
    for package in ("studio/catalog", "studio/credits"):
        for path in pathlib.Path(package).rglob("*.py"):
            assert "float(" not in path.read_text(), f"{path} converts to float"


def test_the_catalog_page_shows_every_model_and_price(client, db):
    from studio.catalog.tables import MODELS

    html = client.get("/models/").content.decode()
    for model in MODELS.values():
        assert model.id in html
        for alias in model.aliases:
            assert alias in html
    for price in ("133", "2.24", "1.60", "67", "16"):
        assert f">{price}<" in html
