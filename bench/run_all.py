"""Run every benchmark and print its figures (docs/benchmarks.md keeps the latest).

make bench        # or: .venv/bin/python bench/run_all.py
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = [
    "bench_render.py",
    "bench_ledger.py",
    "bench_poller.py",
    "bench_api.py",
    "bench_gallery.py",
    "bench_scale.py",  # starts its own PostgreSQL and Redis
    "bench_ops.py",
]

if __name__ == "__main__":
    failed = []
    for name in BENCHES:
        print(f"\n## {name}\n", flush=True)
        if subprocess.run([sys.executable, str(HERE / name)], cwd=HERE.parent).returncode:
            failed.append(name)
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")
