"""Evaluation throughput and memory with the tiny `hf:` model on CPU.

Prints one table measured in this run:
* samples/s of `evaluate()` at batch 8 vs batch 1 (target: >= 3x);
* wall time of `evaluate()` over the model's own generate time on the same batches (target: <= 1.10x);
* peak RSS of a `vlmcult eval` process over a 5,000-sample CVQA-format parquet of 256x256 images (target: < 2 GB).

Usage: .venv/bin/python bench/eval_throughput.py [--samples 64] [--rss-samples 5000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


# `vlmcult ...` in a child that prints its own peak RSS (KiB) as its last stderr line. Linux keeps
# ru_maxrss across exec, and a child forked from this large parent starts with the parent's pages, so
# the peak is reset after exec (clear_refs 5) and read back as VmHWM.
REPORT_PEAK_RSS = """
import re, sys
with open("/proc/self/clear_refs", "w") as handle:
    handle.write("5")
from vlmcult.cli import main
sys.argv = ["vlmcult", *sys.argv[1:]]
try:
    main()
finally:
    with open("/proc/self/status") as handle:
        print("peak_rss_kb=" + re.search(r"VmHWM:\\s*(\\d+)", handle.read()).group(1), file=sys.stderr)
"""


class TimedModel:
    """Wraps a backend and adds up the time spent inside its generate()."""

    def __init__(self, model):
        self.model, self.spec, self.generate_seconds = model, model.spec, 0.0

    def generate(self, requests):
        start = time.perf_counter()
        try:
            return self.model.generate(requests)
        finally:
            self.generate_seconds += time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--rss-samples", type=int, default=5000)
    parser.add_argument("--max-new-tokens", type=int, default=8)
    parser.add_argument("--skip-throughput", action="store_true", help="Only the memory measurement.")
    args = parser.parse_args()

    import torch

    import vlmcult
    from vlmcult.testing.fixtures import CVQA_ROWS, photo_like_jpeg, write_cvqa_labels, write_cvqa_parquet
    from vlmcult.testing.tiny import make_tiny_models

    torch.set_num_threads(2)
    work = Path(tempfile.mkdtemp(prefix="vlmcult-bench-"))
    models = make_tiny_models(work / "models")
    repeat = max(1, args.samples // len(CVQA_ROWS))
    data = write_cvqa_parquet(work / "cvqa.parquet", repeat=repeat)
    labels = write_cvqa_labels(work / "labels.csv", repeat=repeat)
    model = vlmcult.load_model(f"hf:{models['vlm']}")
    n = repeat * len(CVQA_ROWS)

    rows = []
    rates = {}
    for batch_size in () if args.skip_throughput else (1, 8):
        timed = TimedModel(model)
        vlmcult.evaluate("cvqa", timed, data=data, labels=labels, batch_size=batch_size, out=work / f"run-b{batch_size}",
                         fresh=True, progress=False, max_new_tokens=args.max_new_tokens)  # warm-up
        timed.generate_seconds = 0.0
        start = time.perf_counter()
        vlmcult.evaluate("cvqa", timed, data=data, labels=labels, batch_size=batch_size, out=work / f"run-b{batch_size}",
                         fresh=True, progress=False, max_new_tokens=args.max_new_tokens)
        wall = time.perf_counter() - start
        rates[batch_size] = n / wall
        rows.append((f"batch {batch_size}: samples/s", f"{n / wall:.1f}", ""))
        rows.append((f"batch {batch_size}: evaluate() wall / generate() time",
                     f"{wall / timed.generate_seconds:.3f}x", "<= 1.10x" if batch_size == 8 else ""))
    if rates:
        rows.insert(0, ("samples/s batch 8 / batch 1", f"{rates[8] / rates[1]:.2f}x", ">= 3x"))

    rss_repeat = max(1, args.rss_samples // len(CVQA_ROWS))
    images = [photo_like_jpeg(i, 256) for i in range(rss_repeat * len(CVQA_ROWS))]
    big = write_cvqa_parquet(work / "big.parquet", repeat=rss_repeat, image_bytes=images)
    del images
    big_labels = write_cvqa_labels(work / "big_labels.csv", repeat=rss_repeat)
    start = time.perf_counter()
    # The child reports its own peak: RUSAGE_CHILDREN would also count the pages a forked child shares
    # with this (large) parent before it execs.
    completed = subprocess.run(
        [sys.executable, "-c", REPORT_PEAK_RSS, "eval", "cvqa", "--model", f"hf:{models['vlm']}",
         "--data", str(big), "--labels", str(big_labels), "--batch-size", "16", "--max-new-tokens", "1",
         "--out", str(work / "run-big"), "--quiet"], capture_output=True, text=True)
    if completed.returncode != 0:
        sys.exit(completed.stderr)
    peak_kb = int(completed.stderr.strip().splitlines()[-1].removeprefix("peak_rss_kb="))
    peak_gb = peak_kb / 1024 / 1024
    rows.append((f"peak RSS, {rss_repeat * len(CVQA_ROWS)} samples of 256x256 ({big.stat().st_size / 1e6:.0f} MB parquet)",
                 f"{peak_gb:.2f} GB", "< 2 GB"))
    rows.append(("  (that run's wall time)", f"{time.perf_counter() - start:.0f} s", ""))

    width = max(len(r[0]) for r in rows)
    print(f"{'measure'.ljust(width)}  {'value':>10}  target")
    for name, value, target in rows:
        print(f"{name.ljust(width)}  {value:>10}  {target}")


if __name__ == "__main__":
    main()
