"""No input makes a 500 on /v1 (DESIGN invariant 5): property-based tests (hypothesis) send
generated JSON and multipart bodies, and raw bytes, to every /v1 POST and assert that each
answer is a success or an OpenAI-shaped error — never a 500.

Before, a prompt sent as a number, list, object or boolean, a string holding a lone
surrogate, or a deeply nested body (a RecursionError) answered 500.
"""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from studio.accounts.models import ApiKey
from studio.credits import ledger

property_based = pytest.mark.slow  # a few thousand requests: about half a minute

POSTS = [
    "/v1/images/generations",
    "/v1/async/images/generations",
    "/v1/async/videos/generations",
    "/v1/videos",
]
MULTIPART = ["/v1/images/edits", "/v1/async/images/edits", "/v1/videos"]
FIELDS = [
    "model", "prompt", "n", "size", "quality", "response_format", "user", "output_format",
    "output_compression", "background", "moderation", "style", "input_fidelity", "stream",
    "partial_images", "duration", "seconds", "input_image", "input_reference",
]  # fmt: skip
MODELS = ["nano-banana", "gpt-image-2", "gemini-3.1-flash-image-preview-2k", "veo", "kling"]
# Every character, lone surrogates included (hypothesis leaves those out by default).
ANY_TEXT = st.text(st.characters(codec=None, categories=None), max_size=40)
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | ANY_TEXT
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(ANY_TEXT, inner, max_size=3),
)
# Values that are nearly right, so the checks after the first are reached too.
PLAUSIBLE = {
    "model": st.sampled_from(MODELS),
    "prompt": st.sampled_from(["a red kite", " ", "x" * 4001]) | ANY_TEXT,
    "n": st.integers(-1, 12),
    "size": st.sampled_from(["512", "1024x1024", "16:9", "auto", "256x256", "9x9", "1280x720"]),
    "duration": st.integers(-1, 12),
    "seconds": st.sampled_from(["1", "2", 4, "x"]),
    "output_format": st.sampled_from(["png", "jpeg", "webp", "gif"]),
    "background": st.sampled_from(["transparent", "opaque", "auto", "blue"]),
}
ANY_FIELD = st.sampled_from(FIELDS).flatmap(
    lambda name: st.tuples(st.just(name), PLAUSIBLE.get(name, JSON_VALUES) | JSON_VALUES)
)
# Anything at all; or a nearly right request with one or two fields that may be wrong, so the
# checks after the first one are reached too.
BODY = st.dictionaries(st.sampled_from(FIELDS) | ANY_TEXT, JSON_VALUES, max_size=6) | st.tuples(
    st.fixed_dictionaries({"model": PLAUSIBLE["model"], "prompt": PLAUSIBLE["prompt"]}),
    st.lists(ANY_FIELD, max_size=2),
).map(lambda parts: {**parts[0], **dict(parts[1])})
EXAMPLES = {"json": 300, "raw": 150, "multipart": 120}
tried: dict[str, int] = {}


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (24, 16), (200, 0, 0)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def auth(alpha, alice):
    # A few credits: enough that some calls run, so the checks after pricing are reached too.
    ledger.grant(alpha, 12)
    _, raw = ApiKey.create(user=alice, workspace=alpha, name="properties")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def assert_answered(r) -> None:
    """A success, or an error in OpenAI's shape: never a 500."""
    assert r.status_code < 500 or r.status_code == 503, r.content[:500]
    if r.status_code >= 400:
        error = r.json()["error"]
        assert set(error) == {"message", "type", "param", "code", "request_id"}
        assert isinstance(error["message"], str) and error["message"]


def count(kind: str) -> None:
    tried[kind] = tried.get(kind, 0) + 1


def hypothesis_settings(kind: str):
    return settings(
        max_examples=EXAMPLES[kind],
        deadline=None,
        derandomize=True,  # the same inputs on every run: a failure reproduces
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


@property_based
@pytest.mark.parametrize("path", POSTS)
@hypothesis_settings("json")
@given(body=BODY)
def test_no_json_body_makes_a_500(client, auth, path, body):
    count("json")
    data = json.dumps(body, allow_nan=True)  # NaN and Infinity: Python reads them as JSON
    assert_answered(client.post(path, data, content_type="application/json", **auth))


@property_based
@pytest.mark.parametrize("path", POSTS)
@hypothesis_settings("raw")
@given(
    raw=st.binary(max_size=200)
    | st.integers(1, 100_000).map(lambda depth: b"[" * depth + b"]" * depth)
    | st.integers(1, 100_000).map(lambda depth: b'{"prompt":' * depth + b"1" + b"}" * depth)
)
def test_no_raw_body_makes_a_500(client, auth, path, raw):
    count("raw")
    assert_answered(client.post(path, raw, content_type="application/json", **auth))


@property_based
@pytest.mark.parametrize("path", MULTIPART)
@hypothesis_settings("multipart")
@given(
    fields=st.dictionaries(st.sampled_from(FIELDS), ANY_TEXT | st.sampled_from(MODELS), max_size=6),
    files=st.lists(
        st.tuples(
            st.sampled_from(["image", "image[]", "mask", "input_reference", "prompt"]),
            st.sampled_from([b"", b"not an image", png_bytes()]) | st.binary(max_size=64),
        ),
        max_size=3,
    ),
)
def test_no_multipart_body_makes_a_500(client, auth, path, fields, files):
    count("multipart")
    data = {k: v.encode("utf-8", "surrogatepass") for k, v in fields.items()}
    for i, (name, content) in enumerate(files):
        upload = io.BytesIO(content)
        upload.name = f"f{i}.png"
        data.setdefault(name, [])
        if not isinstance(data[name], list):
            data[name] = [data[name]]
        data[name].append(upload)
    assert_answered(client.post(path, data, **auth))


# ---- the inputs that answered 500 before ----------------------------------------------------


@pytest.mark.parametrize("prompt", [42, 4.5, ["a kite"], {"text": "a kite"}, True])
def test_a_prompt_of_the_wrong_type_is_a_400_naming_it(client, auth, prompt):
    body = json.dumps({"model": "nano-banana", "prompt": prompt})
    r = client.post("/v1/images/generations", body, content_type="application/json", **auth)
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["param"] == "prompt" and "prompt must be a string" in error["message"]


def test_a_lone_surrogate_is_a_400_naming_the_field(client, auth):
    body = '{"model": "nano-banana", "prompt": "a kite \\ud800"}'
    r = client.post("/v1/async/images/generations", body, content_type="application/json", **auth)
    assert r.status_code == 400
    assert r.json()["error"]["param"] == "prompt" and "surrogate" in r.json()["error"]["message"]


@pytest.mark.parametrize("depth", [17, 5_000, 1_000_000])
def test_deeply_nested_json_is_a_400(client, auth, depth):
    body = '{"model": "nano-banana", "prompt": ' + "[" * depth + "]" * depth + "}"
    r = client.post("/v1/images/generations", body, content_type="application/json", **auth)
    assert r.status_code == 400
    assert "nests more than 16 levels" in r.json()["error"]["message"]


def test_the_property_tests_tried_what_they_say(request):
    """Runs last in this module: the number of inputs each kind of test sent."""
    if not tried:
        pytest.skip("run with the property tests")
    request.node.user_properties.append(("inputs tried", dict(tried)))
    print(f"\nproperty tests: inputs tried {tried} = {sum(tried.values())}")
    assert tried.get("json", 0) >= EXAMPLES["json"] * len(POSTS)
