"""Generation throughput: `vlmcult generate` (generate_images) vs calling the diffusers pipeline directly.

    python bench/generate.py [--model diffusers:DIR] [--images 64] [--batch-size 8] [--steps 2] [--size 64x64]

Without --model a tiny random StableDiffusionPipeline is built (vlmcult.testing). Both sides use the same
loaded pipeline, batch size, steps and size; vlmcult's side also writes PNGs, manifest.jsonl and run.json.
Each side is timed `--repeats` times, alternating, after one warm-up batch; the best time counts.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="diffusers:<folder> (default: a tiny random pipeline)")
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--size", default="64x64")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default=None)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    args = parser.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)

    from vlmcult.generation.generate import generate_images, parse_size
    from vlmcult.generation.prompts import PromptItem
    from vlmcult.registry import load_model
    from vlmcult.testing.tiny import build_tiny_sd

    work = Path(tempfile.mkdtemp(prefix="vlmcult-bench-generate-"))
    spec = args.model or f"diffusers:{build_tiny_sd(work / 'sd')}"
    generator = load_model(spec, device=args.device)
    pipeline = generator.pipeline
    height, width = parse_size(args.size)
    prompts = [f"A photo of traditional dish number {i}" for i in range(args.images)]
    items = [PromptItem(id=f"p{i:04d}", prompt=p, country="X", concept="cuisine") for i, p in enumerate(prompts)]

    def direct() -> tuple[float, float]:
        start, cpu = time.perf_counter(), time.process_time()
        for offset in range(0, args.images, args.batch_size):
            batch = prompts[offset : offset + args.batch_size]
            pipeline(batch, num_inference_steps=args.steps, height=height, width=width,
                     generator=torch.Generator("cpu").manual_seed(offset))
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        return time.perf_counter() - start, time.process_time() - cpu

    def vlmcult(run: int) -> tuple[float, float]:
        out = work / f"run{run}"
        start, cpu = time.perf_counter(), time.process_time()
        generate_images(generator, items, out, steps=args.steps, size=args.size, batch_size=args.batch_size,
                        progress=False)
        elapsed = time.perf_counter() - start, time.process_time() - cpu
        shutil.rmtree(out)
        return elapsed

    pipeline(prompts[: args.batch_size], num_inference_steps=args.steps, height=height, width=width)  # warm-up
    direct_times, vlmcult_times = [], []
    for run in range(args.repeats):
        direct_times.append(direct())
        vlmcult_times.append(vlmcult(run))
    print(f"model {spec}  device {generator.device}  images {args.images}  batch {args.batch_size}  "
          f"steps {args.steps}  size {args.size}  torch threads {torch.get_num_threads()}")
    print(f"{'side':<20} {'best wall s':>11} {'images/s':>9} {'best CPU s':>11}   all runs wall/CPU (s)")
    for name, times in (("pipeline directly", direct_times), ("vlmcult generate", vlmcult_times)):
        wall, cpu = min(t[0] for t in times), min(t[1] for t in times)
        print(f"{name:<20} {wall:>11.3f} {args.images / wall:>9.1f} {cpu:>11.3f}   "
              + " ".join(f"{w:.2f}/{c:.2f}" for w, c in times))
    print(f"vlmcult / direct throughput: wall {min(t[0] for t in direct_times) / min(t[0] for t in vlmcult_times):.1%}"
          f", CPU {min(t[1] for t in direct_times) / min(t[1] for t in vlmcult_times):.1%}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
