"""Time the local renderer: pictures, an edit and videos at the sizes people ask for.

    .venv/bin/python bench/bench_render.py [--quick]

Prints a Markdown table (docs/benchmarks.md keeps the figures). Pictures and the edit go
through LocalProvider, PNG writing included; videos through video.render_video, the function
the render task runs, encoding included. Outputs go to a temporary directory.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")

import django  # noqa: E402

django.setup()

from django.test import override_settings  # noqa: E402

from studio.providers.base import InputImage  # noqa: E402
from studio.providers.local import (  # noqa: E402
    LocalProvider,  # noqa: E402
    paint,
    video,
)

PROMPT = "a red bicycle in front of snowy mountains at sunset"


def timed(run, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, to check it runs")
    args = parser.parse_args()
    repeat = 1 if args.quick else 3
    images = [(512, 512)] if args.quick else [(1024, 1024), (2048, 2048)]
    videos = [(320, 180, 1)]
    if not args.quick:
        videos = [(1280, 720, 2), (1280, 720, 5), (1920, 1080, 5), (3840, 2160, 2)]

    rows = []
    with tempfile.TemporaryDirectory() as tmp, override_settings(LOCAL_PROVIDER_MEDIA_DIR=tmp):
        local = LocalProvider()
        for w, h in images:
            seconds, result = timed(
                lambda w=w, h=h: local.generate_images(
                    model="gpt-image-2", prompt=PROMPT, n=1, size=f"{w}x{h}", quality=None
                ),
                repeat,
            )
            size = Path(result.outputs[0].path).stat().st_size
            rows.append((f"image {w}x{h}", seconds, f"{size / 1e6:.1f} MB PNG"))

        w, h = images[0]
        buf = io.BytesIO()
        paint.render_image(PROMPT, 0, w, h).save(buf, "PNG")
        source = InputImage(data=buf.getvalue())
        seconds, _ = timed(
            lambda: local.edit_images(
                model="gpt-image-2",
                prompt="blur the background, warmer, add the text 'Ride'",
                images=[source],
                mask=None,
                n=1,
                size=f"{w}x{h}",
                quality=None,
            ),
            repeat,
        )
        rows.append((f"edit {w}x{h} (3 operations)", seconds, ""))

        for w, h, duration in videos:
            out = Path(tmp) / f"{w}x{h}-{duration}.mp4"
            seconds, _ = timed(
                lambda w=w, h=h, duration=duration, out=out: video.render_video(
                    prompt=PROMPT, width=w, height=h, duration=duration, out_path=out
                ),
                1,
            )
            frames = duration * video.FPS
            rate = f"{frames / seconds:.1f} frames/s, {out.stat().st_size / 1e6:.1f} MB"
            rows.append((f"video {w}x{h}, {duration} s ({frames} frames)", seconds, rate))

    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print()
    print("| render | seconds | notes |")
    print("|---|---:|---|")
    for name, seconds, notes in rows:
        print(f"| {name} | {seconds:.2f} | {notes} |")


if __name__ == "__main__":
    main()
