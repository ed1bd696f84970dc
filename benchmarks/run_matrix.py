#!/usr/bin/env python
"""Run models x benchmarks x variants from a YAML config into a results tree, then write summary.csv.

    python benchmarks/run_matrix.py benchmarks/configs/cultural_vqa.yaml --out results/

Each cell is one `vlmcult.evaluate()` run in OUT/<model>/<benchmark>/<variant-slug>/ (the usual run
directory). A cell whose results.json holds the same config is skipped; an unfinished one resumes. A
failing cell is one line on stderr and the others go on; the exit code is 1 when any cell failed.
The config schema is described in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import csv
import gc
import io
import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vlmcult.errors import ConfigError, VlmcultError, did_you_mean, error_line
from vlmcult.registry import split_spec
from vlmcult.runner import finished_run, run_config

TOP_LEVEL_KEYS = {"models", "benchmarks", "defaults"}
DEFAULT_KEYS = {"seed", "batch_size", "out", "limit", "max_error_rate"}
MODEL_KEYS = {"name", "spec", "options", "benchmarks"}
MODEL_OPTION_KEYS = {"batch_size", "api_base", "trust_remote_code", "max_new_tokens"}
BENCHMARK_KEYS = {"name", "data", "labels", "variants", "limit", "options", "metric"}
# Benchmark options evaluate() passes on to the benchmark (the CLI's --judge, --index, ...).
BENCHMARK_OPTION_KEYS = {"judge", "clip_model", "lave_demos", "index", "top_k", "word_list", "max_new_tokens"}
SUMMARY_COLUMNS = ["model", "benchmark", "variant", "metric", "value", "ci_low", "ci_high", "n"]
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
ROOT_VARIABLE = "VLMCULT_ROOT"


@dataclass
class Cell:
    """One run of the matrix: a model on a benchmark in one variant."""

    model: dict[str, Any]
    benchmark: dict[str, Any]
    variant: dict[str, str]
    run_dir: Path
    expected_config: dict[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return f"{self.model['name']}/{self.benchmark['name']}/{variant_text(self.variant)}"


def variant_text(variant: dict[str, str]) -> str:
    return ",".join(f"{key}={value}" for key, value in variant.items()) or "default"


def variant_slug(variant: dict[str, str]) -> str:
    return "_".join(f"{key}-{value}" for key, value in variant.items()) or "default"


# -------------------------------------------------------------------------------------- config


def _yaml_loader() -> Any:
    """A safe loader with YAML 1.2 booleans: `rag: off` stays the string "off", `true`/`false` are booleans."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    Loader.add_implicit_resolver(
        "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
    )
    return Loader


def _expand(value: Any, variables: dict[str, str], where: str) -> Any:
    """Replace ${NAME} in every string of the config (environment, and --root as ${VLMCULT_ROOT})."""
    if isinstance(value, dict):
        return {key: _expand(item, variables, f"{where}.{key}") for key, item in value.items()}
    if isinstance(value, list):
        return [_expand(item, variables, f"{where}[{i}]") for i, item in enumerate(value)]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in variables:
            hint = "pass --root DIR or " if name == ROOT_VARIABLE else ""
            raise ConfigError(f"{where} uses ${{{name}}} but {name} is not set: {hint}export {name}=...")
        return variables[name]

    return ENV_REFERENCE.sub(replace, value)


def _check_keys(entry: Any, allowed: set[str], where: str) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where} must be a mapping, got {type(entry).__name__}")
    for key in entry:
        if key not in allowed:
            raise ConfigError(f"unknown key {key!r} in {where}{did_you_mean(str(key), allowed)}")
    return entry


def _positive_int(value: Any, where: str, allow_none: bool = True) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{where} must be a positive integer, got {value!r}")
    return value


def load_config(path: Path, root: str | None) -> dict[str, Any]:
    """Read and check the YAML config; every problem is one ConfigError line."""
    import yaml

    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_yaml_loader())
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path} is not valid YAML{at}: {getattr(exc, 'problem', None) or exc}") from None
    variables = dict(os.environ)
    if root is not None:
        variables[ROOT_VARIABLE] = str(Path(root).expanduser().resolve())
    elif ROOT_VARIABLE in variables:
        variables[ROOT_VARIABLE] = str(Path(variables[ROOT_VARIABLE]).expanduser().resolve())
    config = _expand(_check_keys(raw, TOP_LEVEL_KEYS, str(path)), variables, "config")

    defaults = _check_keys(config.get("defaults") or {}, DEFAULT_KEYS, "defaults")
    seed = defaults.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ConfigError(f"defaults.seed must be an integer, got {seed!r}")
    _positive_int(defaults.get("batch_size"), "defaults.batch_size")
    _positive_int(defaults.get("limit"), "defaults.limit")

    benchmarks = config.get("benchmarks")
    if not isinstance(benchmarks, list) or not benchmarks:
        raise ConfigError(f"{path} needs a non-empty 'benchmarks' list")
    seen: set[str] = set()
    for i, entry in enumerate(benchmarks):
        where = f"benchmarks[{i}]"
        _check_keys(entry, BENCHMARK_KEYS, where)
        if not isinstance(entry.get("name"), str):
            raise ConfigError(f"{where} needs a 'name' (a benchmark, see `vlmcult list`)")
        if entry["name"] in seen:
            raise ConfigError(f"benchmark {entry['name']!r} is listed twice: put all its variants in one entry")
        seen.add(entry["name"])
        _positive_int(entry.get("limit"), f"{where}.limit")
        _check_keys(entry.get("options") or {}, BENCHMARK_OPTION_KEYS, f"{where}.options")
        variants = entry.get("variants") or [{}]
        if not isinstance(variants, list):
            raise ConfigError(f"{where}.variants must be a list of mappings, e.g. [{{lang: en}}, {{lang: local}}]")
        for j, variant in enumerate(variants):
            if not isinstance(variant, dict) or any(isinstance(v, (dict, list)) or v is None
                                                    for v in variant.values()):
                raise ConfigError(f"{where}.variants[{j}] must map variant keys to values, e.g. {{lang: en}}")

    models = config.get("models")
    if not isinstance(models, list) or not models:
        raise ConfigError(f"{path} needs a non-empty 'models' list")
    names: set[str] = set()
    for i, entry in enumerate(models):
        where = f"models[{i}]"
        _check_keys(entry, MODEL_KEYS, where)
        name, spec = entry.get("name"), entry.get("spec")
        if not isinstance(name, str) or not SAFE_NAME.match(name):
            raise ConfigError(f"{where}.name must be a folder-safe name (letters, digits, . _ -), got {name!r}")
        if name in names:
            raise ConfigError(f"model name {name!r} is used twice")
        names.add(name)
        if not isinstance(spec, str) or not spec:
            raise ConfigError(f"{where} ({name}) needs a 'spec', e.g. hf:Qwen/Qwen2-VL-2B-Instruct")
        split_spec(spec)  # an unknown backend is a config error, before anything runs
        options = _check_keys(entry.get("options") or {}, MODEL_OPTION_KEYS, f"{where}.options")
        _positive_int(options.get("batch_size"), f"{where}.options.batch_size")
        _positive_int(options.get("max_new_tokens"), f"{where}.options.max_new_tokens")
        only = entry.get("benchmarks")
        if only is not None:
            if not isinstance(only, list):
                raise ConfigError(f"{where}.benchmarks must be a list of benchmark names")
            for bench_name in only:
                if bench_name not in seen:
                    raise ConfigError(f"{where}.benchmarks names {bench_name!r}, which is not in the config's "
                                      f"benchmarks{did_you_mean(str(bench_name), seen)}")
    return config


# ---------------------------------------------------------------------------------------- cells


def evaluate_kwargs(cell: Cell, defaults: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of vlmcult.evaluate() for a cell (model loaded separately)."""
    bench, options = cell.benchmark, cell.model.get("options") or {}
    benchmark_options = {"max_new_tokens": options.get("max_new_tokens")}
    benchmark_options.update(bench.get("options") or {})  # the benchmark entry's own value wins
    limit = bench.get("limit", defaults.get("limit"))
    return {
        "data": bench.get("data"), "variant": cell.variant, "labels": bench.get("labels"), "limit": limit,
        "batch_size": options.get("batch_size") or defaults.get("batch_size") or 8,
        "seed": defaults.get("seed", 0), "out": cell.run_dir,
        "max_error_rate": defaults.get("max_error_rate", 0.2),
        **{key: value for key, value in benchmark_options.items() if value is not None},
    }


def expected_run_config(cell: Cell, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The run config evaluate() records for this cell (the variant resolved with its defaults).

    """
    from vlmcult.api import load_benchmark

    options = {key: value for key, value in kwargs.items() if key in BENCHMARK_OPTION_KEYS}
    bench = load_benchmark(cell.benchmark["name"], kwargs["data"], kwargs["variant"], kwargs["labels"], **options)
    metric = cell.benchmark.get("metric")
    if metric is not None and metric not in (*bench.metrics, *bench.corpus_metrics()):
        raise ConfigError(f"{bench.name} has no metric {metric!r}{did_you_mean(str(metric), bench.metrics)}")
    return run_config(bench, cell.model["spec"], kwargs["labels"], kwargs["seed"], kwargs["limit"], options)


def build_cells(config: dict[str, Any], out: Path, only_model: str | None) -> list[Cell]:
    """Every cell of the matrix, in order (models outer), with its variant checked against the benchmark."""
    model_names = [m["name"] for m in config["models"]]
    if only_model is not None and only_model not in model_names:
        raise ConfigError(f"--only-model {only_model!r} is not in the config{did_you_mean(only_model, model_names)}")
    defaults = config.get("defaults") or {}
    cells = []
    for model in config["models"]:
        if only_model is not None and model["name"] != only_model:
            continue
        allowed = model.get("benchmarks")
        for bench in config["benchmarks"]:
            if allowed is not None and bench["name"] not in allowed:
                continue
            resolved_variants: dict[str, str] = {}
            for variant in bench.get("variants") or [{}]:
                variant = {str(key): str(value) for key, value in variant.items()}
                cell = Cell(model, bench, variant,
                            out / model["name"] / bench["name"] / variant_slug(variant))
                cell.expected_config = expected_run_config(cell, evaluate_kwargs(cell, defaults))
                same = json.dumps(cell.expected_config["variant"], sort_keys=True)
                if same in resolved_variants:
                    raise ConfigError(f"{bench['name']} variants {resolved_variants[same]} and "
                                      f"{variant_text(variant)} are the same run: list it once")
                resolved_variants[same] = variant_text(variant)
                cells.append(cell)
    return cells


def finished_results(cell: Cell) -> dict[str, Any] | None:
    """results.json of a finished run with the cell's config, else None (missing, other config, resumed later)."""
    return finished_run(cell.run_dir, cell.expected_config)


def config_conflict(cell: Cell) -> list[str]:
    """The config keys in which the run already in the cell's folder differs from the cell (empty: none, or same).

    evaluate() refuses to resume such a run (vlmcult.runner._prepare_run_dir compares run_config.json the
    same way), so the cell fails before its model is loaded and dry-run says it needs --fresh.
    """
    from vlmcult.runner import RESUMABLE_KEYS, RUN_CONFIG

    path = cell.run_dir / RUN_CONFIG
    if not path.is_file():
        return []
    try:
        previous = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return [f"unreadable {RUN_CONFIG}"]
    if not isinstance(previous, dict):
        return [f"unreadable {RUN_CONFIG}"]
    expected = cell.expected_config
    return sorted(key for key in set(previous) | set(expected)
                  if key not in RESUMABLE_KEYS and previous.get(key) != expected.get(key))


def conflict_message(cell: Cell, differing: list[str]) -> str:
    return (f"{cell.run_dir} holds a run with another config ({', '.join(differing)} differ): "
            "pass --fresh to start over or choose another --out")


def done_count(cell: Cell) -> int:
    from vlmcult.runner import PREDICTIONS
    from vlmcult.store import read_jsonl_records

    return len({r["id"] for r in read_jsonl_records(cell.run_dir / PREDICTIONS)})


def release_memory() -> None:
    """Give a dropped model's GPU memory back before the next one loads."""
    gc.collect()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


def run_cells(cells: list[Cell], defaults: dict[str, Any], progress: bool, fresh: bool) -> list[str]:
    """Run (or skip) each cell; returns the titles of the cells that failed."""
    import vlmcult

    failed: list[str] = []
    by_model: dict[str, list[Cell]] = {}
    for cell in cells:
        by_model.setdefault(cell.model["name"], []).append(cell)
    for name, model_cells in by_model.items():
        model, load_error = None, None
        for cell in model_cells:
            if not fresh and finished_results(cell) is not None:
                print(f"skipped  {cell.title} (finished: {cell.run_dir})", flush=True)
                continue
            differing = [] if fresh else config_conflict(cell)
            if differing:  # evaluate() would refuse it after the model load: fail it now
                print(f"failed   {cell.title}: {conflict_message(cell, differing)}", file=sys.stderr, flush=True)
                failed.append(cell.title)
                continue
            if load_error is None and model is None:
                options = cell.model.get("options") or {}
                model_options = {key: options[key] for key in ("api_base", "trust_remote_code", "batch_size")
                                 if options.get(key)}
                print(f"loading  {name} ({cell.model['spec']})", flush=True)
                try:
                    model = vlmcult.load_model(cell.model["spec"], **model_options)
                except Exception as exc:  # noqa: BLE001 - a model that fails to load fails its cells, not the matrix
                    load_error = f"cannot load {cell.model['spec']}: {error_line(exc)}"
            if load_error is not None:
                print(f"failed   {cell.title}: {load_error}", file=sys.stderr, flush=True)
                failed.append(cell.title)
                continue
            already = 0 if fresh else done_count(cell)
            print(f"{'resuming' if already else 'running'} {cell.title}"
                  f"{f' ({already} done)' if already else ''} -> {cell.run_dir}", flush=True)
            try:
                results = vlmcult.evaluate(cell.benchmark["name"], model, progress=progress, fresh=fresh,
                                           model_spec=cell.model["spec"], **evaluate_kwargs(cell, defaults))
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # noqa: BLE001 - record the cell and go on with the others
                print(f"failed   {cell.title}: {error_line(exc)}", file=sys.stderr, flush=True)
                failed.append(cell.title)
                continue
            row = summary_row(cell, results)
            value = "hidden labels" if row["value"] == "" else f"{row['metric']}={float(row['value']):.4f}"
            print(f"finished {cell.title}: {value} (n={results['n']}, errors={results['n_errors']})", flush=True)
        if model is not None:
            model = None
            release_memory()
    return failed


# -------------------------------------------------------------------------------------- summary


def pick_metric(cell: Cell, results: dict[str, Any]) -> str:
    """The config's `metric`, else the first metric with a value, else the benchmark's first metric."""
    metrics = results.get("metrics") or {}
    if cell.benchmark.get("metric") is not None:  # checked against the benchmark in build_cells
        return cell.benchmark["metric"]
    return next((name for name, value in metrics.items() if value.get("value") is not None), next(iter(metrics), ""))


def summary_row(cell: Cell, results: dict[str, Any] | None) -> dict[str, Any]:
    """One CSV row; a cell without a finished run has empty values."""
    row: dict[str, Any] = {"model": cell.model["name"], "benchmark": cell.benchmark["name"],
                           "variant": variant_text(cell.variant), "metric": cell.benchmark.get("metric") or "",
                           "value": "", "ci_low": "", "ci_high": "", "n": "", "countries": {}}
    if results is None:
        return row
    metric = pick_metric(cell, results)
    overall = (results.get("metrics") or {}).get(metric) or {}
    ci = overall.get("ci95") or ["", ""]
    row.update({"metric": metric, "value": _number(overall.get("value")), "ci_low": _number(ci[0]),
                "ci_high": _number(ci[1]), "n": overall.get("n", "")})
    by_country = (results.get("groups") or {}).get("country") or {}
    row["countries"] = {country: _number((values.get(metric) or {}).get("value"))
                        for country, values in by_country.items()}
    return row


def _number(value: Any) -> Any:
    return "" if value is None else value


def write_summary(cells: list[Cell], path: Path) -> list[dict[str, Any]]:
    """OUT/summary.csv: a row per cell, the columns of SUMMARY_COLUMNS, then one column per country."""
    from vlmcult.store import atomic_write_text

    rows = [summary_row(cell, finished_results(cell)) for cell in cells]
    countries = sorted({country for row in rows for country in row["countries"]})
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(SUMMARY_COLUMNS + countries)
    for row in rows:
        writer.writerow([row[column] for column in SUMMARY_COLUMNS] + [row["countries"].get(c, "") for c in countries])
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, buffer.getvalue())
    return rows


# ------------------------------------------------------------------------------------------ main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", type=Path, help="YAML config (see benchmarks/README.md)")
    parser.add_argument("--out", type=Path, default=None, help="results tree (default: the config's defaults.out, "
                        "else results/)")
    parser.add_argument("--only-model", default=None, metavar="NAME", help="run only this model of the config")
    parser.add_argument("--root", default=None, metavar="DIR",
                        help=f"folder that ${{{ROOT_VARIABLE}}} in the config stands for (default: ${ROOT_VARIABLE})")
    parser.add_argument("--dry-run", action="store_true", help="print the cells and their state; run nothing")
    parser.add_argument("--fresh", action="store_true", help="start the selected runs over instead of "
                        "skipping or resuming them (their predictions are deleted)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        config = load_config(args.config, args.root)
        defaults = config.get("defaults") or {}
        out = Path(args.out or defaults.get("out") or "results")
        cells = build_cells(config, out, args.only_model)
        if args.dry_run:
            for cell in cells:
                already = done_count(cell)
                if finished_results(cell) is not None:
                    state = "finished"
                elif config_conflict(cell):
                    state = "config changed (needs --fresh)"
                else:
                    state = f"resume ({already} done)" if already else "new"
                print(f"{state:<20} {cell.title} -> {cell.run_dir}")
            print(f"{len(cells)} runs; nothing was run (--dry-run)")
            return 0
        failed = run_cells(cells, defaults, progress=not args.quiet, fresh=args.fresh)
        summary_cells = cells if args.only_model is None else build_cells(config, out, None)
        write_summary(summary_cells, out / "summary.csv")
    except VlmcultError as exc:
        print(f"error: {error_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished items are saved; rerun the same command to resume", file=sys.stderr)
        return 130
    print(f"summary: {out / 'summary.csv'}")
    if failed:
        print(f"{len(failed)} of {len(cells)} runs failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
