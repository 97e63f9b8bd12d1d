"""Run every bench/bench_*.py, one subprocess each with this interpreter, and show their output.

Each benchmark prints its figure beside an anchor measured in the same run (a ratio),
because these machines are noisy. Exits non-zero when any benchmark fails.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def run(script: Path) -> int:
    """Run one benchmark with its output going straight to ours; its exit code."""
    print(f"== {script.name}", flush=True)
    start = time.perf_counter()
    code = subprocess.run([sys.executable, str(script)], cwd=ROOT, check=False).returncode
    status = "ok" if code == 0 else f"FAILED (exit {code})"
    print(f"-- {script.name}: {status} in {time.perf_counter() - start:.1f} s\n", flush=True)
    return code


def main() -> int:
    scripts = sorted(HERE.glob("bench_*.py")) + [HERE / "accuracy.py"]  # extraction accuracy
    if not scripts:
        print(f"no bench_*.py in {HERE}", file=sys.stderr)
        return 1
    start = time.perf_counter()
    failed = [s.name for s in scripts if run(s) != 0]
    print(f"{len(scripts)} benchmarks in {time.perf_counter() - start:.1f} s; "
          f"failed: {', '.join(failed) or 'none'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
