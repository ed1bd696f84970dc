"""Aggregates with 95% bootstrap confidence intervals, overall and per group, and paired comparisons.

Bootstrap: percentile intervals over `n_resamples` resamples of the scored items drawn with a seeded
numpy Generator, so the same predictions always give the same intervals.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

DEFAULT_RESAMPLES = 1000
# Resample in chunks so n x resamples indices never take more than ~50 MB.
_MAX_INDEX_CELLS = 6_000_000


def _resample_indices(rng: np.random.Generator, n: int, n_resamples: int) -> Any:
    chunk = max(1, _MAX_INDEX_CELLS // max(n, 1))
    done = 0
    while done < n_resamples:
        size = min(chunk, n_resamples - done)
        yield rng.integers(0, n, size=(size, n))
        done += size


def bootstrap_ci(
    values: Sequence[float],
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    statistic: Callable[..., Any] = np.mean,
) -> tuple[float, float] | None:
    """95% percentile bootstrap CI of `statistic` (which must accept an `axis` keyword)."""
    array = np.asarray(values, dtype=np.float64)
    if array.size == 0:
        return None
    if array.size == 1:
        return (float(array[0]), float(array[0]))
    rng = np.random.default_rng(seed)
    stats = np.concatenate(
        [statistic(array[idx], axis=1) for idx in _resample_indices(rng, array.size, n_resamples)]
    )
    low, high = np.percentile(stats, [2.5, 97.5])
    return (float(low), float(high))


def summarise(values: Sequence[float], n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> dict[str, Any]:
    """{"value": mean, "ci95": [lo, hi], "n": count} for per-item scores (None already removed)."""
    if len(values) == 0:
        return {"value": None, "ci95": None, "n": 0}
    ci = bootstrap_ci(values, n_resamples, seed)
    return {"value": float(np.mean(values)), "ci95": list(ci) if ci else None, "n": len(values)}


def summarise_corpus(
    records: list[dict[str, Any]],
    metric: Callable[[list[dict[str, Any]]], float | None],
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> dict[str, Any]:
    """A corpus-level metric (e.g. CIDEr) with a CI from recomputing it on resampled records."""
    if not records:
        return {"value": None, "ci95": None, "n": 0}
    value = metric(records)
    if value is None:
        return {"value": None, "ci95": None, "n": len(records)}
    rng = np.random.default_rng(seed)
    resampled = []
    for indices in _resample_indices(rng, len(records), n_resamples):
        for row in indices:
            result = metric([records[i] for i in row])
            if result is not None:
                resampled.append(result)
    ci = [float(v) for v in np.percentile(resampled, [2.5, 97.5])] if resampled else None
    return {"value": float(value), "ci95": ci, "n": len(records)}


def group_values(record: dict[str, Any], key: str) -> list[str]:
    """A record's values for a group key; a list value (GIMMICK regions) counts in each."""
    value = (record.get("groups") or {}).get(key)
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [str(value)]


def scored_values(records: list[dict[str, Any]], metric: str) -> list[float]:
    values = []
    for record in records:
        value = (record.get("scores") or {}).get(metric)
        if value is not None and not record.get("error"):
            values.append(float(value))
    return values


def aggregate(
    records: list[dict[str, Any]],
    metrics: Sequence[str],
    group_keys: Sequence[str],
    corpus_metrics: dict[str, Callable[[list[dict[str, Any]]], float | None]] | None = None,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> tuple[dict[str, Any], dict[str, dict[str, dict[str, Any]]]]:
    """Overall metric objects and per-group ones: (metrics, groups[key][value][metric])."""
    corpus_metrics = corpus_metrics or {}

    def summarise_all(subset: list[dict[str, Any]]) -> dict[str, Any]:
        out = {name: summarise(scored_values(subset, name), n_resamples, seed) for name in metrics}
        ok = [r for r in subset if not r.get("error") and r.get("target") is not None]
        for name, fn in corpus_metrics.items():
            out[name] = summarise_corpus(ok, fn, n_resamples, seed)
        return out

    overall = summarise_all(records)
    groups: dict[str, dict[str, dict[str, Any]]] = {}
    for key in group_keys:
        members: dict[str, list[dict[str, Any]]] = {}
        for record in records:
            for value in group_values(record, key):
                members.setdefault(value, []).append(record)
        groups[key] = {value: summarise_all(members[value]) for value in sorted(members)}
    return overall, groups


def paired_difference(
    records_a: list[dict[str, Any]],
    records_b: list[dict[str, Any]],
    metric: str,
    group_keys: Sequence[str] = (),
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> dict[str, Any]:
    """B minus A on ids scored in both runs: mean difference with a paired bootstrap CI, overall and per group."""
    a_by_id = {r["id"]: r for r in records_a}
    pairs = []
    for record_b in records_b:
        record_a = a_by_id.get(record_b["id"])
        if record_a is None or record_a.get("error") or record_b.get("error"):
            continue
        value_a = (record_a.get("scores") or {}).get(metric)
        value_b = (record_b.get("scores") or {}).get(metric)
        if value_a is None or value_b is None:
            continue
        pairs.append((record_a, float(value_a), float(value_b)))

    def summary(subset: list[tuple[dict[str, Any], float, float]]) -> dict[str, Any]:
        if not subset:
            return {"a": None, "b": None, "diff": None, "ci95": None, "n": 0}
        a = np.array([p[1] for p in subset])
        b = np.array([p[2] for p in subset])
        ci = bootstrap_ci(b - a, n_resamples, seed)
        return {"a": float(a.mean()), "b": float(b.mean()), "diff": float((b - a).mean()),
                "ci95": list(ci) if ci else None, "n": len(subset)}

    result: dict[str, Any] = {"metric": metric, "overall": summary(pairs), "groups": {}}
    for key in group_keys:
        members: dict[str, list[tuple[dict[str, Any], float, float]]] = {}
        for pair in pairs:
            for value in group_values(pair[0], key):
                members.setdefault(value, []).append(pair)
        result["groups"][key] = {value: summary(members[value]) for value in sorted(members)}
    return result
