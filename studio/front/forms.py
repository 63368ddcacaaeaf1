"""The state of the generate / edit / animate forms: chosen options and their price.

Each form re-renders its options (and the cost on its button) through htmx whenever a choice
changes; these classes read the submitted values and price the result with the catalog.

Two ways of reading: while a person is choosing (`strict=False`, the options fragment), a
value the chosen model doesn't offer falls back to one it does, so switching models never
leaves an impossible choice on screen. A submission (`strict=True`) is taken exactly as sent:
a value the form never offered (a tampered or stale form) is refused with a message naming
the field, never quietly rewritten into something else that is then charged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from studio.catalog import tables as t
from studio.catalog.quote import Quote, quote
from studio.errors import StudioError, invalid
from studio.front import options as o
from studio.generations.models import JobKind

DEFAULT_IMAGE_MODEL = "gemini-2.5-flash-image"
DEFAULT_VIDEO_MODEL = "veo"
CUSTOM = "custom"
# Images a person may give one job as references (the first is the one edited).
MAX_REFERENCES = 10
# A video starts from at most one image.
MAX_VIDEO_REFERENCES = 1


def _choose(data: Mapping, name: str, allowed: list[str], default, strict: bool, refusal: str):
    """The submitted `name` if offered; absent → `default`; anything else → `default` while
    choosing, or StudioError(`refusal`) when submitting."""
    value = data.get(name)
    if value in (None, "") or value in allowed:
        return value or default
    if strict:
        raise invalid(refusal.format(value=str(value)[:40]), name)
    return default


def _whole(data: Mapping, name: str, default: int, bounds: tuple[int, int], strict: bool):
    raw = data.get(name)
    low, high = bounds
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        value = None
    if value is not None and low <= value <= high:
        return value
    if strict:
        raise invalid(f"{name} must be a whole number from {low} to {high}.", name)
    return default if value is None else min(max(value, low), high)


def _model(data: Mapping, kind: str, default: str, strict: bool) -> t.Model:
    raw = data.get("model") or ""
    model = t.get_model(raw)
    if model is not None and model.kind == kind:
        return model
    if raw and strict:
        raise invalid(f"There is no {kind} model {raw[:40]!r}: pick one from the list.", "model")
    return t.MODELS[default]


def _quality(data: Mapping, model: t.Model, strict: bool) -> str | None:
    if not model.qualities:
        return None  # the model ignores quality, so a stale one changes nothing
    qualities = list(model.qualities)
    refusal = f"{model.name} takes the qualities {', '.join(qualities)}, not {{value!r}}."
    return _choose(data, "quality", qualities, model.default_quality, strict, refusal)


class Priced:
    """What a form's verdict shows about its price and the balance."""

    quote: Quote | None
    balance: Decimal | None

    @property
    def shortfall(self) -> Decimal | None:
        """How many credits the balance lacks for this quote (None when it covers it)."""
        if self.quote is None or self.balance is None or self.balance >= self.quote.credits:
            return None
        return self.quote.credits - self.balance


@dataclass
class ImageForm(Priced):
    endpoint: str
    model: t.Model
    size: str  # a choice's value, or CUSTOM
    quality: str | None
    n: int
    width: int | None = None  # of a custom size
    height: int | None = None
    references: list = field(default_factory=list)
    balance: Decimal | None = None
    models: list[t.Model] = field(default_factory=o.image_models)
    quote: Quote | None = None
    error: StudioError | None = None

    @classmethod
    def read(
        cls,
        data: Mapping,
        endpoint: str = t.GENERATIONS,
        source=None,
        *,
        strict: bool = False,
        references: list | None = None,
        balance: Decimal | None = None,
    ) -> ImageForm:
        """Read the form; a refusal of a strict read is kept in `error`, never raised."""
        references = references or []
        if references:
            endpoint = t.EDITS  # reference images go through the edit route, as image[]
        form = cls(
            endpoint,
            t.MODELS[DEFAULT_IMAGE_MODEL],
            "1:1",
            None,
            1,
            references=references,
            balance=balance,
        )
        try:
            form._read(data, source, strict)
            form.quote = quote({**form.request(), "endpoint": endpoint})
        except StudioError as e:
            form.error = e
        return form

    def _read(self, data: Mapping, source, strict: bool) -> None:
        self.model = model = _model(data, t.IMAGE, DEFAULT_IMAGE_MODEL, strict)
        sizes = [c.value for c in self.sizes]
        default_size = o.default_image_size(
            model, getattr(source, "width", None), getattr(source, "height", None)
        )
        raw = data.get("size") or ""
        custom = o.parse_size(raw) if model.size_rule == "gpt-image-2" else None
        if raw == CUSTOM and CUSTOM in sizes or custom and raw not in sizes:
            self.size = CUSTOM
            self.width, self.height = custom or (
                _whole(data, "width", 1024, (t.MIN_SIDE, 99999), strict),
                _whole(data, "height", 1024, (t.MIN_SIDE, 99999), strict),
            )
        else:
            self.size = _choose(
                data,
                "size",
                sizes,
                default_size,
                strict,
                f"{model.name} doesn't offer the size {{value!r}}: pick one from the list.",
            )
        self.quality = _quality(data, model, strict)
        self.n = _whole(data, "n", 1, t.N_RANGE, strict)
        limit = MAX_REFERENCES
        if len(self.references) > limit:
            raise invalid(f"A job takes at most {limit} reference images.", "reference")

    def request(self) -> dict:
        size = f"{self.width}x{self.height}" if self.size == CUSTOM else self.size
        return {"model": self.model.id, "size": size, "quality": self.quality, "n": self.n}

    def job_fields(self) -> dict:
        """The job this form makes: an image from the prompt, or with references an edit of
        the first through the edit route, the others sent beside it (`image[]`)."""
        if not self.references:
            return {"kind": JobKind.GENERATE}
        first, *others = self.references
        return {
            "kind": JobKind.EDIT,
            "source_asset": first,
            "inputs": {"images": [a.file.name for a in others]},
        }

    @property
    def sizes(self) -> list[o.Choice]:
        return o.image_sizes(self.model)

    @property
    def qualities(self) -> list[o.Choice]:
        return o.qualities(self.model)

    @property
    def counts(self) -> range:
        low, high = t.N_RANGE
        return range(low, high + 1)

    @property
    def custom_rules(self) -> dict:
        return t.GPT_IMAGE_2_RULES

    @property
    def max_references(self) -> int:
        return MAX_REFERENCES


@dataclass
class VideoForm(Priced):
    model: t.Model
    duration: int
    aspect: str
    resolution: str
    quality: str | None
    references: list = field(default_factory=list)
    balance: Decimal | None = None
    models: list[t.Model] = field(default_factory=o.video_models)
    quote: Quote | None = None
    error: StudioError | None = None

    @classmethod
    def read(
        cls,
        data: Mapping,
        source=None,
        *,
        strict: bool = False,
        references: list | None = None,
        balance: Decimal | None = None,
    ) -> VideoForm:
        """Read the form; a refusal of a strict read is kept in `error`, never raised."""
        references = references or []
        source = source or (references[0] if references else None)
        form = cls(
            t.MODELS[DEFAULT_VIDEO_MODEL],
            t.DEFAULT_DURATION,
            "16:9",
            "720P",
            None,
            references=references,
            balance=balance,
        )
        try:
            form._read(data, source, strict)
            form.quote = quote(form.request())
        except StudioError as e:
            form.error = e
        return form

    def _read(self, data: Mapping, source, strict: bool) -> None:
        self.model = model = _model(data, t.VIDEO, DEFAULT_VIDEO_MODEL, strict)
        self.quality = _quality(data, model, strict)
        default_aspect = o.aspect_of(source.width, source.height) if source else "16:9"
        self.aspect = _choose(
            data,
            "aspect",
            list(o.VIDEO_ASPECTS),
            default_aspect,
            strict,
            "A video's shape is 16:9, 9:16 or 1:1, not {value!r}.",
        )
        resolutions = [c.value for c in self.resolutions]
        self.resolution = _choose(
            data,
            "resolution",
            resolutions,
            resolutions[0],
            strict,
            f"{model.name} at this quality offers {', '.join(resolutions)}, not {{value!r}}.",
        )
        self.duration = _whole(data, "duration", t.DEFAULT_DURATION, t.DURATION_RANGE, strict)
        if len(self.references) > MAX_VIDEO_REFERENCES:
            raise invalid("A video starts from one image at most.", "reference")

    def job_fields(self) -> dict:
        """A video from the prompt alone, or from its one reference image."""
        return {
            "kind": JobKind.ANIMATE,
            "source_asset": self.references[0] if self.references else None,
        }

    def request(self) -> dict:
        return {
            "model": self.model.id,
            "duration": self.duration,
            "quality": self.quality,
            "size": o.video_size(self.aspect, self.resolution),
        }

    @property
    def qualities(self) -> list[o.Choice]:
        return o.qualities(self.model)

    @property
    def resolutions(self) -> list[o.Choice]:
        return o.video_resolutions(self.model, self.quality)

    @property
    def aspects(self) -> list[o.Choice]:
        return [o.Choice(a, o.RATIO_LABELS[a]) for a in o.VIDEO_ASPECTS]

    @property
    def durations(self) -> range:
        low, high = t.DURATION_RANGE
        return range(low, high + 1)

    @property
    def max_references(self) -> int:
        return MAX_VIDEO_REFERENCES
