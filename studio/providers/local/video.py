"""Render a short H.264 MP4 with real motion: the local stand-in for a video model.

A still (the input image, or a picture painted from the prompt) becomes a "Ken Burns" shot: a
slow, eased zoom and pan. A second layer moves faster than the first (the scene's near things,
or drifting out-of-focus specks over a photo), which reads as depth, and a soft light drifts
across. Frames are piped raw into the ffmpeg binary that imageio-ffmpeg ships; the file appears
under its final name only once it is complete.
"""

from __future__ import annotations

import io
import math
import os
import subprocess
import tempfile
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg
from PIL import Image, ImageFilter, ImageOps

from studio.lib.transactions import outside_transaction
from studio.providers.local import paint

FPS = 24
# The canvas is this much larger than the frame, so the camera has room to move.
MARGIN = 1.18
# Frames are drawn by this many threads (Pillow's resize and paste release the GIL), a few
# frames ahead of the encoder.
DRAW_THREADS, AHEAD = 2, 6


def ffmpeg_exe() -> str:
    return imageio_ffmpeg.get_ffmpeg_exe()


@dataclass
class Shot:
    background: Image.Image  # RGB, canvas size
    foreground: Image.Image  # RGBA, canvas size
    light: tuple[float, float]  # canvas pixels
    light_colour: tuple[int, int, int]


def _specks(size: tuple[int, int], image: Image.Image, rng) -> Image.Image:
    """Return an RGBA layer of soft, out-of-focus specks in the picture's light colours."""
    layer = paint.Layer(size)
    w, h = size
    u = min(size)
    small = image.resize((16, 16), Image.Resampling.BOX)
    colours = sorted((c for _, c in small.getcolors(256)), key=sum)[-24:]  # the brightest
    for _ in range(28):
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), u * rng.uniform(0.008, 0.045)
        colour = paint.mix(rng.choice(colours), (255, 255, 255), 0.5)
        layer.shape(
            lambda d, s, c=(cx, cy, r): d.ellipse(paint.circle_box(*c, s), fill=255),
            colour,
            blur=r * rng.uniform(0.15, 0.6),
            opacity=rng.uniform(0.12, 0.35),
        )
    return layer.image


def make_shot(prompt: str, canvas: tuple[int, int], input_image: bytes | None) -> Shot:
    """Return the layers a video is filmed from: the input image or the prompt's picture."""
    rng = paint.seeded(prompt, 0)
    if input_image is not None:
        picture = Image.open(io.BytesIO(input_image))
        picture = ImageOps.exif_transpose(picture).convert("RGB")
        background = ImageOps.fit(picture, canvas, Image.Resampling.LANCZOS)
        foreground = _specks(canvas, background, rng)
        light = (canvas[0] * rng.uniform(0.2, 0.8), canvas[1] * rng.uniform(0.15, 0.4))
        return Shot(background, foreground, light, (255, 244, 224))
    scene = paint.paint_scene(prompt, 0, *canvas)
    return Shot(scene.background.convert("RGB"), scene.foreground, scene.light, scene.palette.light)


def _ease(t: float) -> float:
    return t * t * (3 - 2 * t)


class Camera:
    """The motion of one shot: where each layer is at time t (0..1)."""

    def __init__(self, prompt: str, frame: tuple[int, int], canvas: tuple[int, int]):
        rng = paint.seeded(prompt, 1)
        self.frame, self.canvas = frame, canvas
        self.zoom_in = rng.random() < 0.6
        angle = rng.uniform(0, math.tau)
        # The widest pan that keeps the frame inside the canvas at zoom 1.
        room = min(canvas[0] - frame[0], canvas[1] - frame[1]) / 2
        self.direction = (math.cos(angle) * room, math.sin(angle) * room)

    def place(self, t: float, depth: float):
        """Return (zoom, pan) of a layer at `depth` (0 far … 1 near) at time t."""
        e = _ease(t)
        progress = e if self.zoom_in else 1 - e
        zoom = 1 + (0.06 + 0.08 * depth) * progress
        # Start on one side of the centre and move through it to the other.
        share = (0.35 + 0.5 * depth) * (e - 0.5) * 2
        return zoom, (self.direction[0] * share, self.direction[1] * share)

    def film(self, layer: Image.Image, t: float, depth: float) -> Image.Image:
        """Return the canvas-sized `layer` as the camera frames it at time t."""
        zoom, (pan_x, pan_y) = self.place(t, depth)
        (w, h), (cw, ch) = self.frame, self.canvas
        # A zoom and a pan is a scaled crop: resize() with a box does it, and its separable,
        # vectorised filter is 2-3x faster than a general affine transform.
        left = min(max(0.0, cw / 2 + pan_x - w / (2 * zoom)), cw - w / zoom)
        top = min(max(0.0, ch / 2 + pan_y - h / (2 * zoom)), ch - h / zoom)
        box = (left, top, left + w / zoom, top + h / zoom)
        return layer.resize(self.frame, Image.Resampling.BILINEAR, box=box)


def _split(layer: Image.Image) -> tuple[Image.Image, Image.Image]:
    """Split an RGBA layer into colour and alpha, resampled apart (that is much faster than
    resampling RGBA). Transparent pixels take the colour of the opaque ones nearby, so an edge
    doesn't blend towards whatever colour the empty pixels happened to hold."""
    alpha = layer.getchannel("A")
    spread = layer.convert("RGBa").filter(ImageFilter.GaussianBlur(6)).convert("RGBA")
    empty = alpha.point(lambda v: 0 if v else 255)
    colour = layer.convert("RGB")
    colour.paste(spread.convert("RGB"), (0, 0), empty)
    return colour, alpha


def _light_sprite(radius: int, colour) -> tuple[Image.Image, Image.Image]:
    mask = paint.radial(2.4).resize((radius * 2, radius * 2), Image.Resampling.BILINEAR)
    return Image.new("RGB", mask.size, colour), mask.point(lambda v: v * 4 // 10)


def frames(prompt: str, width: int, height: int, count: int, input_image: bytes | None = None):
    """Yield `count` RGB frames of width x height."""
    frame = (width, height)
    canvas = (round(width * MARGIN / 2) * 2, round(height * MARGIN / 2) * 2)
    shot = make_shot(prompt, canvas, input_image)
    camera = Camera(prompt, frame, canvas)
    light, light_mask = _light_sprite(max(8, round(min(frame) * 0.45)), shot.light_colour)
    overlay, corner = paint.mark_sprite(frame)
    # Paste only the mark's own pixels, not a whole transparent frame around it.
    box = overlay.getbbox() or (0, 0, 1, 1)
    mark, mark_at = overlay.crop(box), (corner[0] + box[0], corner[1] + box[1])
    near_colour, near_alpha = _split(shot.foreground)
    drift = (camera.direction[0] * -0.8, camera.direction[1] * 0.4 + min(frame) * 0.05)

    def draw(i: int) -> Image.Image:
        t = i / max(1, count - 1)
        picture = camera.film(shot.background, t, depth=0.0)
        picture.paste(
            camera.film(near_colour, t, depth=1.0), (0, 0), camera.film(near_alpha, t, depth=1.0)
        )
        # The light drifts on its own path and breathes a little.
        lx = shot.light[0] - (canvas[0] - width) / 2 + drift[0] * (t - 0.5) * 2
        ly = shot.light[1] - (canvas[1] - height) / 2 + drift[1] * (t - 0.5) * 2
        strength = 0.75 + 0.25 * math.sin(t * math.pi * 2 * max(1, count / FPS / 3))
        picture.paste(
            light,
            (round(lx - light.width / 2), round(ly - light.height / 2)),
            light_mask.point(lambda v, s=strength: round(v * s)),
        )
        picture.paste(mark, mark_at, mark)
        return picture

    with ThreadPoolExecutor(DRAW_THREADS) as pool:
        pending: deque = deque()
        for i in range(count):
            pending.append(pool.submit(draw, i))
            if len(pending) > AHEAD:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def render_video(
    *,
    prompt: str,
    width: int,
    height: int,
    duration: int,
    out_path: Path,
    input_image: bytes | None = None,
    fps: int = FPS,
    on_progress: Callable[[int, int], None] | None = None,
) -> float:
    """Write an H.264 MP4 (yuv420p, faststart) of exactly width x height and `duration` s.

    Return the seconds written. `on_progress(frames_done, total)` is called after each frame
    and may raise to abort the render; then no file is left behind and the exception
    propagates. Raise RuntimeError when ffmpeg fails.
    """
    if width % 2 or height % 2:
        raise ValueError(f"H.264 needs an even width and height, not {width}x{height}")
    outside_transaction("rendering a video")
    total = fps * duration
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    partial = out_path.with_name(f".{out_path.name}.{os.getpid()}.part")
    command = [
        ffmpeg_exe(),
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "-s",
        f"{width}x{height}",
        "-r",
        str(fps),
        "-i",
        "-",
        "-an",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-crf",
        "20",
        "-pix_fmt",
        "yuv420p",
        "-movflags",
        "+faststart",
        "-frames:v",
        str(total),
        "-f",
        "mp4",
        str(partial),
    ]
    # stderr goes to a file: a pipe nobody reads could fill up and stall ffmpeg.
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=errors
        )
        try:
            for done, picture in enumerate(
                frames(prompt, width, height, total, input_image), start=1
            ):
                proc.stdin.write(picture.tobytes())
                if on_progress:
                    on_progress(done, total)
            proc.stdin.close()
            code = proc.wait()
        except BaseException:
            proc.kill()
            proc.wait()
            partial.unlink(missing_ok=True)
            raise
        if code != 0:
            partial.unlink(missing_ok=True)
            errors.seek(0)
            tail = errors.read()[-500:].decode(errors="replace").strip()
            raise RuntimeError(f"ffmpeg exited with {code}: {tail}")
    os.replace(partial, out_path)
    return total / fps
