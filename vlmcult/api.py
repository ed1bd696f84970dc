"""Python entry points that are not the runner itself: loading benchmarks, comparing runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vlmcult import stats
from vlmcult.benchmarks.base import Benchmark
from vlmcult.errors import DataError
from vlmcult.runner import PREDICTIONS, RESULTS, make_benchmark
from vlmcult.store import read_jsonl_records


def load_benchmark(name: str, source: str | Path | None = None, variant: dict[str, str] | None = None,
                   labels: str | Path | None = None, **options: Any) -> Benchmark:
    """A benchmark object; iterate `benchmark.load()` for its samples."""
    return make_benchmark(name, source, variant, labels, **options)


def read_run(run_dir: str | Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(results.json, predictions records) of a finished run directory."""
    run_dir = Path(run_dir)
    results_path = run_dir / RESULTS
    if not results_path.is_file():
        raise DataError(f"{run_dir} is not a finished run directory (no {RESULTS})")
    results = json.loads(results_path.read_text(encoding="utf-8"))
    return results, read_jsonl_records(run_dir / PREDICTIONS)


def compare_runs(run_a: str | Path, run_b: str | Path, metric: str | None = None,
                 n_resamples: int = stats.DEFAULT_RESAMPLES, seed: int = 0) -> dict[str, Any]:
    """Paired difference B - A on the ids both runs scored, overall and per group, with bootstrap CIs."""
    results_a, records_a = read_run(run_a)
    results_b, records_b = read_run(run_b)
    if results_a["benchmark"] != results_b["benchmark"]:
        raise DataError(
            f"cannot compare runs of different benchmarks ({results_a['benchmark']} vs {results_b['benchmark']})"
        )
    names = [m for m in results_a["metrics"] if m in results_b["metrics"]]
    per_item = [m for m in names if any((r.get("scores") or {}).get(m) is not None for r in records_a)]
    if metric is None:
        if not per_item:
            raise DataError("the runs share no per-item scored metric to compare (are the labels hidden?)")
        metric = per_item[0]
    elif metric not in per_item:
        raise DataError(f"metric {metric!r} has no per-item scores in both runs (choose from: {', '.join(per_item)})")
    group_keys = [key for key in results_a.get("groups", {}) if key in results_b.get("groups", {})]
    comparison = stats.paired_difference(records_a, records_b, metric, group_keys, n_resamples, seed)
    comparison.update({"benchmark": results_a["benchmark"], "a": {"run": str(run_a), "model": results_a["model"],
                       "variant": results_a["variant"]}, "b": {"run": str(run_b), "model": results_b["model"],
                       "variant": results_b["variant"]}})
    return comparison
