"""Audit several text-to-image models on a CUBE prompt set: generate K seeds per prompt, score, compare.

    python generation/cube_audit.py --model diffusers:stabilityai/stable-diffusion-xl-base-1.0 \
        --model diffusers:/models/playground-v2.5 --prompts cube-1k --data cube_1k.json \
        --images-per-prompt 4 --clip openclip:ViT-L-14@openai --judge hf:Qwen/Qwen2-VL-7B-Instruct --out cube-audit

Writes one generation run per model under OUT/ (resumable: rerun the same command after an interruption)
and OUT/report.html, a comparison page linking one audit page per model.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
from pathlib import Path

from vlmcult import generate_images, run_audit
from vlmcult.errors import ConfigError, run_command


def run_name(spec: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", spec.split(":", 1)[-1].rstrip("/").split("/")[-1]) or "model"


def run_names(specs: list[str]) -> list[str]:
    """One run folder name per model: the spec's last path part, plus a short hash of the spec where two share it.

    The same spec given twice is refused (it would be one run). Names are compared case-insensitively,
    so they stay distinct on case-insensitive file systems too.
    """
    repeated = sorted({spec for spec in specs if specs.count(spec) > 1})
    if repeated:
        raise ConfigError(f"--model {repeated[0]} is given more than once; list each model once")
    names = [run_name(spec) for spec in specs]
    folded = [name.lower() for name in names]
    return [
        f"{name}-{hashlib.sha256(spec.encode()).hexdigest()[:8]}" if folded.count(name.lower()) > 1 else name
        for spec, name in zip(specs, names)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", required=True, help="diffusers: spec (repeat per model)")
    parser.add_argument("--prompts", default="cube-1k", help="cube-1k, cube-cspace, cube-diversity or a file")
    parser.add_argument("--data", default=None, help="local cube_1k.json / cube_CSpace.json.tar.gz")
    parser.add_argument("--images-per-prompt", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--guidance", type=float, default=7.5)
    parser.add_argument("--size", default=None, help="HxW, e.g. 1024x1024")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--limit", type=int, default=None, help="only the first N prompts")
    parser.add_argument("--clip", default=None, help="openclip: spec for alignment, country ID and Vendi")
    parser.add_argument("--judge", default=None, help="hf: or openai: VLM judge spec")
    parser.add_argument("--api-base", default=None)
    parser.add_argument("--ratings", default=None, help="filled-in human rating CSV")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    def audit() -> list[Path]:
        run_dirs = []
        for spec, name in zip(args.model, run_names(args.model)):
            run_dir = args.out / name
            print(f"== {spec} -> {run_dir}", file=sys.stderr)
            generate_images(spec, args.prompts, run_dir, data=args.data, images_per_prompt=args.images_per_prompt,
                            seed=args.seed, steps=args.steps, guidance=args.guidance, size=args.size,
                            batch_size=args.batch_size, limit=args.limit)
            run_dirs.append(run_dir)
        return run_audit(run_dirs, out=args.out / "report.html", clip=args.clip, judge=args.judge,
                         api_base=args.api_base, ratings=args.ratings, rating_sheet=args.out / "rating-sheet")

    pages = run_command(audit)
    for page in pages:
        print(f"wrote {page}")


if __name__ == "__main__":
    main()
