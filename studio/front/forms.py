"""The state of the generate / edit / animate forms: chosen options and their price.

Each form re-renders its options (and the cost on its button) through htmx whenever a choice
changes; these classes read the submitted values, keep only what the chosen model offers, and
price the result with the catalog.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from studio.catalog import tables as t
from studio.catalog.quote import Quote, quote
from studio.errors import StudioError
from studio.front import options as o

DEFAULT_IMAGE_MODEL = "gemini-2.5-flash-image"
DEFAULT_VIDEO_MODEL = "veo"


def _pick(value, allowed: list[str], default: str | None) -> str | None:
    return value if value in allowed else default


@dataclass
class ImageForm:
    endpoint: str
    model: t.Model
    size: str
    quality: str | None
    n: int
    models: list[t.Model] = field(default_factory=o.image_models)
    quote: Quote | None = None
    error: StudioError | None = None

    @classmethod
    def read(cls, data: Mapping, endpoint: str = t.GENERATIONS, source=None) -> ImageForm:
        model = t.get_model(data.get("model") or "")
        if model is None or model.kind != t.IMAGE:
            model = t.MODELS[DEFAULT_IMAGE_MODEL]
        sizes = [c.value for c in o.image_sizes(model)]
        default_size = o.default_image_size(
            model, getattr(source, "width", None), getattr(source, "height", None)
        )
        size = _pick(data.get("size"), sizes, default_size)
        quality = _pick(data.get("quality"), list(model.qualities), model.default_quality)
        try:
            n = min(max(int(data.get("n") or 1), 1), o.UI_MAX_N)
        except (TypeError, ValueError):
            n = 1
        form = cls(endpoint, model, size, quality, n)
        try:
            form.quote = quote({**form.request(), "endpoint": endpoint})
        except StudioError as e:
            form.error = e
        return form

    def request(self) -> dict:
        return {"model": self.model.id, "size": self.size, "quality": self.quality, "n": self.n}

    @property
    def sizes(self) -> list[o.Choice]:
        return o.image_sizes(self.model)

    @property
    def qualities(self) -> list[o.Choice]:
        return o.qualities(self.model)

    @property
    def counts(self) -> range:
        return range(1, o.UI_MAX_N + 1)


@dataclass
class VideoForm:
    model: t.Model
    duration: int
    aspect: str
    resolution: str
    quality: str | None
    models: list[t.Model] = field(default_factory=o.video_models)
    quote: Quote | None = None
    error: StudioError | None = None

    @classmethod
    def read(cls, data: Mapping, source=None) -> VideoForm:
        model = t.get_model(data.get("model") or "")
        if model is None or model.kind != t.VIDEO:
            model = t.MODELS[DEFAULT_VIDEO_MODEL]
        quality = _pick(data.get("quality"), list(model.qualities), model.default_quality)
        default_aspect = o.aspect_of(source.width, source.height) if source else "16:9"
        aspect = _pick(data.get("aspect"), list(o.VIDEO_ASPECTS), default_aspect)
        resolutions = [c.value for c in o.video_resolutions(model, quality)]
        resolution = _pick(data.get("resolution"), resolutions, resolutions[0])
        try:
            duration = int(data.get("duration") or t.DEFAULT_DURATION)
        except (TypeError, ValueError):
            duration = t.DEFAULT_DURATION
        low, high = t.DURATION_RANGE
        form = cls(model, min(max(duration, low), high), aspect, resolution, quality)
        try:
            form.quote = quote(form.request())
        except StudioError as e:
            form.error = e
        return form

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
