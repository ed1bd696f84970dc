"""evaluate() and score(): batching, resume, per-item errors, progress, the run directory.

A run directory (contract) holds `predictions.jsonl` (appended and fsynced per batch), `results.json`
(written atomically at the end), `run_config.json` (what resume compares against) and the benchmark's
submission file. Image decoding and prompt building for the next batch run in a background thread
while the model works on the current one.
"""

from __future__ import annotations

import json
import platform
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from vlmcult import stats
from vlmcult.benchmarks.base import Benchmark
from vlmcult.errors import ConfigError, DataError, SystemicFailure, VlmcultError, error_line
from vlmcult.registry import benchmark_class, load_model
from vlmcult.store import JsonlAppender, atomic_write_json, read_jsonl_records
from vlmcult.types import SCHEMA_VERSION, Prediction, Sample

PREDICTIONS = "predictions.jsonl"
RESULTS = "results.json"
RUN_CONFIG = "run_config.json"
# Errors are only judged systemic once this many items have been tried.
MIN_ITEMS_FOR_ERROR_RATE = 10
# Config keys that may change between a run and its resume without invalidating finished items.
RESUMABLE_KEYS = {"limit", "batch_size", "max_error_rate", "n_resamples", "started"}


def make_benchmark(
    benchmark: str | Benchmark,
    data: str | Path | None = None,
    variant: dict[str, str] | None = None,
    labels: str | Path | None = None,
    **options: Any,
) -> Benchmark:
    """A benchmark instance from a name (or pass one through)."""
    if isinstance(benchmark, Benchmark):
        return benchmark
    cls = benchmark_class(benchmark)
    return cls(source=data, variant=variant, labels=labels, **options)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")[-80:] or "run"


def default_run_dir(benchmark: Benchmark, model_spec: str) -> Path:
    variant = "-".join(f"{k}={v}" for k, v in benchmark.variant.items()) or "default"
    return Path("runs") / _slug(benchmark.name) / _slug(variant) / _slug(model_spec)


def package_versions() -> dict[str, str]:
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for name in ("vlmcult", "torch", "transformers", "open_clip_torch", "diffusers", "faiss-cpu", "faiss-gpu",
                 "datasets", "pyarrow", "numpy", "sentence-transformers"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def git_revision() -> str | None:
    try:
        here = Path(__file__).resolve().parent
        out = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def run_config(bench: Benchmark, model_spec: str, labels: str | Path | None, seed: int, limit: int | None,
               benchmark_options: dict[str, Any], batch_size: int | None = None) -> dict[str, Any]:
    """The config a run records in run_config.json and results.json; resume compares against it."""
    config = {
        "benchmark": bench.name, "variant": dict(bench.variant), "model": model_spec,
        "data": str(bench.source) if bench.source is not None else None,
        "labels": str(labels) if labels is not None else None, "seed": seed, "limit": limit,
        "options": {k: str(v) for k, v in sorted(benchmark_options.items()) if v is not None},
    }
    if batch_size is not None:
        config["batch_size"] = batch_size
    return config


def finished_run(run_dir: Path, config: dict[str, Any]) -> dict[str, Any] | None:
    """results.json of a finished run with this config (same limit too), else None.

    A run counts as finished only when results.json covers every line of predictions.jsonl: a resume
    that died after results.json was written leaves more predictions than it counts.
    """
    path = Path(run_dir) / RESULTS
    if not path.is_file():
        return None
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    recorded = (results.get("run") or {}).get("config") or {}
    keys = (set(recorded) | set(config)) - (RESUMABLE_KEYS - {"limit"})
    if any(recorded.get(key) != config.get(key) for key in keys):
        return None
    if len({r["id"] for r in read_jsonl_records(Path(run_dir) / PREDICTIONS)}) != results.get("n"):
        return None
    return results


def _recorded_config(run_dir: Path) -> dict[str, Any] | None:
    """The run_config.json a run folder holds, or None."""
    path = run_dir / RUN_CONFIG
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _prepare_run_dir(run_dir: Path, config: dict[str, Any], fresh: bool) -> None:
    if fresh and run_dir.exists():
        for name in (PREDICTIONS, RESULTS, RUN_CONFIG):
            (run_dir / name).unlink(missing_ok=True)
    run_dir.mkdir(parents=True, exist_ok=True)
    previous = _recorded_config(run_dir)
    if previous is not None:
        differing = sorted(
            key for key in set(previous) | set(config)
            if key not in RESUMABLE_KEYS and previous.get(key) != config.get(key)
        )
        if differing:
            raise ConfigError(
                f"{run_dir} holds a run with another config ({', '.join(differing)} differ): "
                "pass --fresh to start over or choose another --out"
            )
    atomic_write_json(run_dir / RUN_CONFIG, config)


def _progress(total: int | None, description: str, enabled: bool) -> Any:
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    console = Console(stderr=True)
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
        TextColumn("[cyan]{task.fields[rate]}"),
        TimeElapsedColumn(), TimeRemainingColumn(), console=console, disable=not enabled, transient=False,
    )
    task = progress.add_task(description, total=total, rate="")
    return progress, task


class _Prepared:
    """One sample made ready for the model (requests built) or failed before it (error)."""

    __slots__ = ("sample", "requests", "error")

    def __init__(self, sample: Sample, requests: list[Any] | None, error: str | None) -> None:
        self.sample, self.requests, self.error = sample, requests, error


def _prepared_batches(
    benchmark: Benchmark, samples: Iterator[Sample], batch_size: int, build: bool
) -> Iterator[list[_Prepared]]:
    """Decode images and build requests in a background thread, two batches ahead of the model."""
    handoff: queue.Queue[Any] = queue.Queue(maxsize=2)
    stop = threading.Event()
    end = object()

    def prepare(sample: Sample) -> _Prepared:
        if not build:
            return _Prepared(sample, None, None)
        try:
            image = benchmark.decode(sample)
            return _Prepared(sample, benchmark.build_requests(sample, image), None)
        except (DataError, OSError, ValueError) as exc:
            return _Prepared(sample, None, error_line(exc))

    def produce() -> None:
        try:
            batch: list[_Prepared] = []
            for sample in samples:
                if stop.is_set():
                    return
                batch.append(prepare(sample))
                if len(batch) == batch_size:
                    handoff.put(batch)
                    batch = []
            if batch:
                handoff.put(batch)
            handoff.put(end)
        except BaseException as exc:  # surfaced on the consumer's thread
            handoff.put(exc)

    worker = threading.Thread(target=produce, name="vlmcult-prepare", daemon=True)
    worker.start()
    try:
        while True:
            item = handoff.get()
            if item is end:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue
            try:
                handoff.get_nowait()
            except queue.Empty:
                worker.join(timeout=0.05)


def _samples_to_run(benchmark: Benchmark, done: set[str], limit: int | None) -> Iterator[Sample]:
    """The benchmark's samples up to `limit`, minus finished ids; a duplicated id is a data error."""
    seen: set[str] = set()
    for count, sample in enumerate(benchmark.load()):
        if limit is not None and count >= limit:
            return
        if sample.id in seen:
            raise DataError(f"sample id {sample.id!r} appears twice in the data")
        seen.add(sample.id)
        if sample.id in done:
            continue
        yield sample


def _run_loop(
    benchmark: Benchmark,
    run_dir: Path,
    samples: Iterator[Sample],
    total: int | None,
    batch_size: int,
    max_error_rate: float,
    model: Any = None,
    replay: dict[str, Any] | None = None,
    progress: bool = True,
) -> None:
    """Prepare, predict (or replay), parse, score and append each batch."""
    n_tried = n_errors = 0
    last_error = ""
    bar, task = _progress(total, benchmark.name, progress)
    started = time.perf_counter()
    with bar, JsonlAppender(run_dir / PREDICTIONS) as appender:
        for batch in _prepared_batches(benchmark, samples, batch_size, build=replay is None):
            ready = [item for item in batch if item.error is None]
            if replay is None:
                try:
                    outputs = benchmark.predict(model, [i.sample for i in ready], [i.requests for i in ready])
                except VlmcultError:
                    raise
                except Exception as exc:  # the whole batch failed: record it per item, go on
                    outputs = [[exc] for _ in ready]
            else:
                outputs = [replay[i.sample.id] if isinstance(replay[i.sample.id], list) else [replay[i.sample.id]]
                           for i in ready]
            to_score: list[tuple[_Prepared, list[Any], Any]] = []
            records: dict[int, dict[str, Any]] = {}
            for item, item_outputs in zip(ready, outputs):
                failure = next((o for o in item_outputs if isinstance(o, BaseException)), None)
                if failure is not None:
                    item.error = error_line(failure)
                    continue
                try:
                    parsed = benchmark.parse(item.sample, item_outputs)
                except (DataError, ValueError) as exc:
                    item.error = error_line(exc)
                    continue
                to_score.append((item, item_outputs, parsed))
            try:
                scores = benchmark.score_batch([t[0].sample for t in to_score], [t[2] for t in to_score])
            except VlmcultError:
                raise
            for (item, item_outputs, parsed), item_scores in zip(to_score, scores):
                records[id(item)] = _record(benchmark, item, item_outputs, parsed, item_scores)
            lines = []
            for item in batch:
                if id(item) in records:
                    lines.append(records[id(item)])
                else:
                    lines.append(_record(benchmark, item, None, None, {m: None for m in benchmark.metrics}))
                    n_errors += 1
            appender.append_batch(lines)
            n_tried += len(batch)
            elapsed = time.perf_counter() - started
            bar.update(task, advance=len(batch), rate=f"{n_tried / elapsed:.2f} samples/s" if elapsed else "")
            if n_errors:
                last_error = next((line["error"] for line in reversed(lines) if line["error"]), last_error)
            if n_tried >= MIN_ITEMS_FOR_ERROR_RATE and n_errors / n_tried > max_error_rate:
                raise SystemicFailure(
                    f"stopped: {n_errors} of {n_tried} items failed (> --max-error-rate {max_error_rate}); "
                    f"last error: {last_error}"
                )
    if n_tried and n_errors == n_tried:
        # too few items for the rate check, but nothing worked: that is the set-up, not the items
        raise SystemicFailure(f"all {n_tried} items failed; last error: {last_error}")


def _record(benchmark: Benchmark, item: _Prepared, outputs: list[Any] | None, parsed: Any,
            scores: dict[str, Any]) -> dict[str, Any]:
    sample = item.sample
    prompts = [r.text for r in item.requests] if item.requests else None
    extra = benchmark.record_extra(sample, item.requests or []) if item.error is None else {}
    return Prediction(
        id=sample.id,
        variant=dict(benchmark.variant),
        prompt=prompts[0] if prompts and len(prompts) == 1 else prompts,
        output=outputs[0] if outputs and len(outputs) == 1 else outputs,
        parsed=parsed,
        target=sample.target,
        scores=scores if item.error is None else {m: None for m in benchmark.metrics},
        groups=sample.groups,
        error=item.error,
        extra=extra,
    ).to_json()


def finalize(
    benchmark: Benchmark,
    run_dir: Path,
    model_spec: str,
    config: dict[str, Any],
    seed: int,
    started: str,
    n_resamples: int = stats.DEFAULT_RESAMPLES,
) -> dict[str, Any]:
    """Aggregate predictions.jsonl into results.json (atomic) and write the submission file."""
    records = read_jsonl_records(run_dir / PREDICTIONS)
    benchmark.run_dir = run_dir
    metrics, groups = stats.aggregate(
        records, benchmark.metrics, benchmark.group_keys, benchmark.corpus_metrics(), n_resamples, seed
    )
    n_scored = sum(
        1 for r in records
        if not r.get("error") and any(v is not None for v in (r.get("scores") or {}).values())
    )
    results = {
        "schema_version": SCHEMA_VERSION,
        "benchmark": benchmark.name,
        "benchmark_version": benchmark.version,
        "variant": dict(benchmark.variant),
        "model": model_spec,
        "n": len(records),
        "n_scored": n_scored,
        "n_errors": sum(1 for r in records if r.get("error")),
        "metrics": metrics,
        "groups": groups,
        "run": {
            "config": config,
            "seed": seed,
            "n_resamples": n_resamples,
            "versions": package_versions(),
            "git_revision": git_revision(),
            "started": started,
            "finished": _now(),
            "argv": sys.argv,
        },
    }
    submission = benchmark.write_submission(records, run_dir)
    if submission is not None:
        results["submission"] = submission.name
    atomic_write_json(run_dir / RESULTS, results)
    return results


def evaluate(
    benchmark: str | Benchmark,
    model: str | Any,
    data: str | Path | None = None,
    variant: dict[str, str] | None = None,
    labels: str | Path | None = None,
    limit: int | None = None,
    batch_size: int = 8,
    seed: int = 0,
    out: str | Path | None = None,
    fresh: bool = False,
    max_error_rate: float = 0.2,
    n_resamples: int = stats.DEFAULT_RESAMPLES,
    progress: bool = True,
    model_options: dict[str, Any] | None = None,
    model_spec: str | None = None,
    **benchmark_options: Any,
) -> dict[str, Any]:
    """Evaluate a model on a benchmark; returns the results.json content.

    `model` is a spec string (e.g. "hf:Qwen/Qwen2-VL-2B-Instruct") or a loaded backend object
    (then `model_spec` names it in the run record; default: the object's `spec`).
    Rerunning into the same `out` with the same config resumes: finished ids are skipped.
    """
    if batch_size < 1:
        raise ConfigError("--batch-size must be at least 1")
    if n_resamples < 1:
        raise ConfigError("--resamples must be at least 1")
    if not 0 <= max_error_rate <= 1:
        raise ConfigError(f"--max-error-rate is a fraction in [0, 1] (got {max_error_rate})")
    if limit is not None and limit < 1:
        raise ConfigError("--limit must be at least 1")
    bench = make_benchmark(benchmark, data, variant, labels, **benchmark_options)
    if model_spec is None:
        model_spec = model if isinstance(model, str) else getattr(model, "spec", type(model).__name__)
    run_dir = Path(out) if out is not None else default_run_dir(bench, model_spec)
    config = run_config(bench, model_spec, labels, seed, limit, benchmark_options, batch_size=batch_size)
    # Check the data and the output folder before loading a model: fail in a second, not after a model load.
    total = bench.count()
    run_dir.mkdir(parents=True, exist_ok=True)
    # Retrieval benchmarks rank documents with an Embedder; every other benchmark asks a VLM.
    wants_embedder = getattr(bench, "model_kind", "vlm") == "embedder"
    if isinstance(model, str):
        if wants_embedder:
            from vlmcult.retrieval.encode import load_embedder

            model = load_embedder(model, **(model_options or {}))
        else:
            model = load_model(model, **(model_options or {}))
    if not wants_embedder and getattr(model, "multiple_choice_only", False) and not bench.multiple_choice:
        raise ConfigError(
            f"{model_spec} only scores multiple-choice options and {bench.name} is open-ended: use a generative model"
        )
    _prepare_run_dir(run_dir, config, fresh)
    bench.run_dir = run_dir
    started = _now()
    done = {r["id"] for r in read_jsonl_records(run_dir / PREDICTIONS)}
    if total is not None:
        total = min(total, limit) if limit is not None else total
        total = max(total - len(done), 0)
    _run_loop(bench, run_dir, _samples_to_run(bench, done, limit), total, batch_size, max_error_rate,
              model=model, progress=progress)
    return finalize(bench, run_dir, model_spec, config, seed, started, n_resamples)


def score(
    benchmark: str | Benchmark,
    predictions: str | Path,
    out: str | Path,
    data: str | Path | None = None,
    variant: dict[str, str] | None = None,
    labels: str | Path | None = None,
    seed: int = 0,
    n_resamples: int = stats.DEFAULT_RESAMPLES,
    progress: bool = False,
    **benchmark_options: Any,
) -> dict[str, Any]:
    """Score outputs made elsewhere (JSONL with `id` and `output`, or the benchmark's own run format)."""
    bench = make_benchmark(benchmark, data, variant, labels, **benchmark_options)
    outputs = bench.read_outputs(Path(predictions))
    run_dir = Path(out)
    config = run_config(bench, f"predictions:{predictions}", labels, seed, None, benchmark_options)
    previous = _recorded_config(run_dir)
    if previous is not None and not str(previous.get("model", "")).startswith("predictions:"):
        raise ConfigError(f"{run_dir} holds an eval run; scoring into it would replace its predictions: "
                          "choose another --out")
    known = {sample.id for sample in _samples_to_run(bench, set(), None)}
    unknown = sorted(set(outputs) - known)
    if unknown:
        raise DataError(
            f"{predictions}: {len(unknown)} id(s) are not in the {bench.name} data, e.g. {unknown[0]!r}"
        )
    _prepare_run_dir(run_dir, config, fresh=True)
    bench.run_dir = run_dir
    started = _now()
    matching = (sample for sample in _samples_to_run(bench, set(), None) if sample.id in outputs)
    _run_loop(bench, run_dir, matching, len(outputs), 64, 1.0, replay=outputs, progress=progress)
    results = finalize(bench, run_dir, f"predictions:{predictions}", config, seed, started, n_resamples)
    if results["n_scored"] == 0 and results["n_errors"] < results["n"]:
        hint = f"; the submission file is {run_dir / results['submission']}" if "submission" in results else ""
        raise DataError(
            f"{bench.name} labels are hidden in this data, so nothing can be scored: pass --labels FILE{hint}"
        )
    return results
