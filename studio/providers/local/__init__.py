"""The local renderer: the default provider, so the whole studio works offline.

It makes real media — PNG pictures painted from the prompt (`paint`), real Pillow edits
(`edits`), H.264 MP4s with motion (`video`) — and marks every output "local preview".

Videos are asynchronous like the real platform's: `submit_video` writes a LocalTask row and
queues `render_video_task` on django-q2; the render claims the row, beats while it writes
frames and completes it. `get_task` reads the row, and when it finds a render that stopped
beating (its worker was killed) or never started (its enqueue was lost) it queues it again;
the LocalTask methods make sure only one caller does, and that a duplicate delivery does
nothing. A completed task is never rendered again.

Settings are read at call time: LOCAL_PROVIDER_MEDIA_DIR (where outputs live — the provider's
own storage, not MEDIA_ROOT), LOCAL_PROVIDER_FAIL_RATE and LOCAL_PROVIDER_LATENCY.

Modules: `provider` (LocalProvider and the render task), `models` (LocalTask), and the media
makers `paint`, `edits` and `video`.
"""

from studio.providers.local.provider import LocalProvider, render_video_task

__all__ = ["LocalProvider", "render_video_task"]
