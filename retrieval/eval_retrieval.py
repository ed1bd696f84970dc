"""Rank several encoders on RAVENEA retrieval (official protocol) and print one table.

    python retrieval/eval_retrieval.py --data /data/ravenea \
        --encoder hf:openai/clip-vit-large-patch14 --encoder hf:jaagli/ravenea-clip-vit-large-patch14 \
        --encoder openclip:ViT-L-14@openai --out runs/ravenea-retrieval

Each encoder gets a run folder (predictions.jsonl, results.json, run.trec) under --out; the table shows
the metrics x100 as the paper does, and is also written to OUT/table.md.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

METRICS = ("mrr", "p@1", "p@3", "p@5", "ndcg@1", "ndcg@3", "ndcg@5")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="unpacked RAVENEA v2 release folder")
    parser.add_argument("--encoder", action="append", required=True, help="embedder spec (repeat the option)")
    parser.add_argument("--out", type=Path, default=Path("runs/ravenea-retrieval"))
    parser.add_argument("--split", default="test", choices=("test", "val", "train", "all"))
    parser.add_argument("--mode", default="candidates", choices=("candidates", "corpus"))
    parser.add_argument("--index", type=Path, default=None, help="document index for --mode corpus (one per encoder: "
                        "give a folder holding one index per encoder named like the run folders)")
    parser.add_argument("--device", default=None)
    parser.add_argument("--batch-size", type=int, default=16)
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> None:
    """Evaluate every encoder, print the table and write OUT/table.md."""
    from rich.console import Console
    from rich.table import Table

    import vlmcult
    from vlmcult.errors import ConfigError

    if args.mode == "corpus" and args.index is None:
        raise ConfigError("--mode corpus needs --index (an index folder, or a folder of one index per encoder)")
    rows = []
    for spec in args.encoder:
        name = re.sub(r"[^A-Za-z0-9._@-]+", "_", spec)
        options = {}
        if args.mode == "corpus":
            options["index"] = args.index / name if (args.index / name).is_dir() else args.index
        # The spec (not a loaded embedder) goes to evaluate(), which checks the data before loading the encoder.
        results = vlmcult.evaluate(
            "ravenea-retrieval", spec, data=args.data, model_options={"device": args.device},
            variant={"split": args.split, "mode": args.mode}, out=args.out / name, batch_size=args.batch_size,
            **options,
        )
        rows.append((spec, results))

    table = Table(title=f"RAVENEA retrieval ({args.split}, {args.mode}), x100")
    table.add_column("encoder")
    for metric in METRICS:
        table.add_column(metric.upper().replace("NDCG", "nDCG").replace("P@", "P@"), justify="right")
    lines = ["| encoder | " + " | ".join(METRICS) + " |", "|---|" + "---:|" * len(METRICS)]
    for spec, results in rows:
        values = [results["metrics"][m]["value"] for m in METRICS]
        cells = ["-" if v is None else f"{100 * v:.2f}" for v in values]
        table.add_row(spec, *cells)
        lines.append(f"| {spec} | " + " | ".join(cells) + " |")
    Console().print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "table.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    """Console entry point: a user error is one line on stderr and exit code 2, as in `vlmcult`."""
    from vlmcult.errors import run_command

    args = parse_args(argv)
    run_command(lambda: run(args))


if __name__ == "__main__":
    main()
