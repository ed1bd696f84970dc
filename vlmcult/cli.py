"""The `vlmcult` command: one typer app; each command is a thin call into the Python API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer

from vlmcult.errors import ConfigError, run_command
from vlmcult.generation import cli as generation_cli
from vlmcult.retrieval.cli import index_app

app = typer.Typer(
    name="vlmcult",
    help="Measure and improve the cultural competence of vision-language and text-to-image models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

VariantOpt = typer.Option(None, "--variant", "-V", help="KEY=VALUE, repeatable or comma-separated (see `vlmcult list`).")


def parse_variants(items: list[str] | None) -> dict[str, str]:
    variant: dict[str, str] = {}
    pairs = [pair for item in items or [] for pair in item.split(",")]  # "-V lang=en,order=circular" works too
    for item in pairs:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise ConfigError(f"--variant {item!r} is not of the form KEY=VALUE")
        variant[key.strip()] = value.strip()
    return variant


def _benchmark_options(**options: Any) -> dict[str, Any]:
    return {key: value for key, value in options.items() if value is not None}


def print_results(results: dict[str, Any], group_key: str | None = "country") -> None:
    """Overall metrics and one per-group table, with CIs."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    variant = ",".join(f"{k}={v}" for k, v in results.get("variant", {}).items()) or "default"
    console.print(f"[bold]{results['benchmark']}[/] [{variant}]  model={results['model']}  n={results['n']}  "
                  f"scored={results['n_scored']}  errors={results['n_errors']}")
    metrics = [m for m, v in results["metrics"].items() if v.get("value") is not None]
    if not metrics and results["n_errors"] == results["n"]:
        console.print("every item failed: see the `error` field in predictions.jsonl")
        return
    if not metrics:
        hint = f" — see {results['submission']}" if results.get("submission") else ""
        console.print(f"no scored items (hidden labels){hint}")
        return
    table = Table(title="overall")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("95% CI", justify="right")
    table.add_column("n", justify="right")
    for name in metrics:
        value = results["metrics"][name]
        table.add_row(name, _fmt(value["value"]), _ci(value["ci95"]), str(value["n"]))
    console.print(table)
    groups = results.get("groups", {})
    key = None if group_key is None else group_key if group_key in groups else next(iter(groups), None)
    if key:
        table = Table(title=f"by {key}")
        table.add_column(key)
        for name in metrics:
            table.add_column(name, justify="right")
            table.add_column("95% CI", justify="right")
        table.add_column("n", justify="right")
        for group, values in groups[key].items():
            row = [group]
            for name in metrics:
                row += [_fmt(values[name]["value"]), _ci(values[name]["ci95"])]
            row.append(str(max(values[name]["n"] for name in metrics)))
            table.add_row(*row)
        console.print(table)


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _ci(ci: list[float] | None) -> str:
    return "—" if not ci else f"[{ci[0]:.3f}, {ci[1]:.3f}]"


@app.command("eval")
def eval_command(
    benchmark: str = typer.Argument(..., help="Benchmark name (see `vlmcult list`)."),
    model: str = typer.Option(..., "--model", "-m", help="Model spec, e.g. hf:Qwen/Qwen2-VL-2B-Instruct."),
    data: Optional[str] = typer.Option(None, "--data", help="Local file/folder or hub id (default: the official hub id)."),
    variant: Optional[list[str]] = VariantOpt,
    limit: Optional[int] = typer.Option(None, "--limit", help="Only the first N samples."),
    batch_size: int = typer.Option(8, "--batch-size", help="Samples per model call."),
    seed: int = typer.Option(0, "--seed", help="Seed for bootstrap CIs and any sampling."),
    resamples: int = typer.Option(1000, "--resamples", help="Bootstrap resamples per CI (corpus metrics such as "
                                  "CIDEr are recomputed per resample: lower this for very large caption sets)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Run directory (default: runs/BENCHMARK/VARIANT/MODEL)."),
    fresh: bool = typer.Option(False, "--fresh", help="Start over instead of resuming."),
    labels: Optional[Path] = typer.Option(None, "--labels", help="Gold labels from elsewhere (hidden-label benchmarks)."),
    max_error_rate: float = typer.Option(0.2, "--max-error-rate", help="Stop when more items than this fail."),
    max_new_tokens: Optional[int] = typer.Option(None, "--max-new-tokens", help="Override the benchmark's budget."),
    api_base: Optional[str] = typer.Option(None, "--api-base", help="Base URL for openai: models."),
    trust_remote_code: bool = typer.Option(False, "--trust-remote-code", help="Allow hub code for hf: models."),
    device: Optional[str] = typer.Option(None, "--device", help="Model device, e.g. cuda:0 or cpu (default: GPU if any)."),
    dtype: Optional[str] = typer.Option(None, "--dtype", help="hf: model dtype, e.g. bfloat16 or float32."),
    concurrency: Optional[int] = typer.Option(None, "--concurrency", help="Parallel requests for openai: models."),
    judge: Optional[str] = typer.Option(None, "--judge", help="Judge model spec (LAVE, GIMMICK judge)."),
    clip_model: Optional[str] = typer.Option(None, "--clip-model", help="CLIP spec for clip_score."),
    lave_demos: Optional[Path] = typer.Option(None, "--lave-demos", help="Folder with the LAVE demo JSON files."),
    index: Optional[Path] = typer.Option(None, "--index", help="Retrieval index folder (rag=on)."),
    top_k: Optional[int] = typer.Option(None, "--top-k", help="Documents retrieved per sample (rag=on)."),
    word_list: Optional[Path] = typer.Option(None, "--word-list", help="Cultural word list for caption metrics."),
    bert_model: Optional[str] = typer.Option(None, "--bert-model", help="BERTScore model (name or local folder)."),
    bert_layers: Optional[int] = typer.Option(None, "--bert-layers", help="BERTScore layer (needed for local models)."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Evaluate a model on a benchmark into a run directory (resumable)."""
    from vlmcult.runner import evaluate

    model_options = {"api_base": api_base, "trust_remote_code": trust_remote_code, "device": device, "dtype": dtype,
                     "concurrency": concurrency}
    results = evaluate(
        benchmark, model, data=data, variant=parse_variants(variant), labels=labels, limit=limit,
        batch_size=batch_size, seed=seed, out=out, fresh=fresh, max_error_rate=max_error_rate, n_resamples=resamples,
        progress=not quiet, model_options={k: v for k, v in model_options.items() if v},
        **_benchmark_options(judge=judge, clip_model=clip_model, lave_demos=lave_demos, index=index, top_k=top_k,
                             word_list=word_list, max_new_tokens=max_new_tokens, bert_model=bert_model,
                             bert_layers=bert_layers),
    )
    print_results(results)


@app.command("score")
def score_command(
    benchmark: str = typer.Argument(..., help="Benchmark name."),
    out: Path = typer.Option(..., "--out", help="Run directory to write."),
    predictions: Optional[Path] = typer.Option(None, "--predictions", help="JSONL with id and output per line."),
    run: Optional[Path] = typer.Option(None, "--run", help="A TREC run file (ravenea-retrieval)."),
    data: Optional[str] = typer.Option(None, "--data", help="Local file/folder or hub id."),
    labels: Optional[Path] = typer.Option(None, "--labels", help="Gold labels from elsewhere."),
    variant: Optional[list[str]] = VariantOpt,
    seed: int = typer.Option(0, "--seed", help="Seed for bootstrap CIs."),
    resamples: int = typer.Option(1000, "--resamples", help="Bootstrap resamples per CI."),
    judge: Optional[str] = typer.Option(None, "--judge", help="Judge model spec (LAVE, GIMMICK judge)."),
    clip_model: Optional[str] = typer.Option(None, "--clip-model", help="CLIP spec for clip_score."),
    lave_demos: Optional[Path] = typer.Option(None, "--lave-demos", help="Folder with the LAVE demo JSON files."),
    word_list: Optional[Path] = typer.Option(None, "--word-list", help="Cultural word list for caption metrics."),
    bert_model: Optional[str] = typer.Option(None, "--bert-model", help="BERTScore model (name or local folder)."),
    bert_layers: Optional[int] = typer.Option(None, "--bert-layers", help="BERTScore layer (needed for local models)."),
) -> None:
    """Score predictions made elsewhere; writes the same run directory as `eval`."""
    from vlmcult.runner import score

    if (predictions is None) == (run is None):
        raise ConfigError("pass exactly one of --predictions FILE or --run FILE")
    results = score(benchmark, predictions or run, out, data=data, variant=parse_variants(variant), labels=labels,
                    seed=seed, n_resamples=resamples, **_benchmark_options(judge=judge, clip_model=clip_model, lave_demos=lave_demos,
                                                     word_list=word_list, bert_model=bert_model,
                                                     bert_layers=bert_layers))
    print_results(results)


@app.command("compare")
def compare_command(
    run_a: Path = typer.Argument(..., help="Baseline run directory."),
    run_b: Path = typer.Argument(..., help="Run directory to compare against the baseline."),
    metric: Optional[str] = typer.Option(None, "--metric", help="Metric (default: the benchmark's first)."),
    group: Optional[str] = typer.Option(None, "--group", help="Only this group key (default: every key)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Paired difference B - A on shared ids, overall and per group, with bootstrap CIs."""
    from vlmcult.api import compare_runs

    comparison = compare_runs(run_a, run_b, metric)
    if as_json:
        typer.echo(json.dumps(comparison, indent=2))
        return
    if group is not None and group not in comparison["groups"]:
        raise ConfigError(f"no group key {group!r} in these runs (have: {', '.join(comparison['groups']) or 'none'})")
    print_comparison(comparison, group)


def print_comparison(comparison: dict[str, Any], group: str | None = "country") -> None:
    """The paired difference overall, then one table per group key (or only `group`)."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"[bold]{comparison['benchmark']}[/]: {comparison['metric']}, B - A on shared ids\n"
                  f"  A = {comparison['a']['model']} {comparison['a']['variant']}  ({comparison['a']['run']})\n"
                  f"  B = {comparison['b']['model']} {comparison['b']['variant']}  ({comparison['b']['run']})")
    keys = [group] if group is not None else list(comparison["groups"]) or [None]
    for key in keys:
        table = Table(title=f"by {key}" if key else None)
        for column in (key or "", "A", "B", "B - A", "95% CI", "n"):
            table.add_column(column, justify="right" if column in ("A", "B", "B - A", "95% CI", "n") else "left")

        def add(name: str, row: dict[str, Any]) -> None:
            table.add_row(name, _fmt(row["a"]), _fmt(row["b"]),
                          "—" if row["diff"] is None else f"{row['diff']:+.3f}", _ci(row["ci95"]), str(row["n"]))

        add("overall", comparison["overall"])
        for name, row in comparison["groups"].get(key, {}).items() if key else []:
            add(name, row)
        console.print(table)


@app.command("list")
def list_command() -> None:
    """Benchmarks with their variants and metrics, and the model backends."""
    from rich.console import Console
    from rich.table import Table

    from vlmcult.registry import BENCHMARKS, SPEC_HELP, benchmark_class

    table = Table(title="benchmarks")
    for column in ("name", "variants (first = default)", "metrics", "groups"):
        table.add_column(column)
    for name in BENCHMARKS:
        try:
            cls = benchmark_class(name)
        except ImportError as exc:
            table.add_row(name, f"(unavailable: {exc})", "", "")
            continue
        variants = "  ".join(f"{key}={'|'.join(values)}" for key, values in cls.variants.items())
        table.add_row(name, variants or "—", ", ".join(cls.metrics), ", ".join(cls.group_keys))
    console = Console()
    console.print(table)
    backends = Table(title="model specs")
    backends.add_column("backend")
    backends.add_column("spec")
    for name, text in SPEC_HELP.items():
        backends.add_row(name, text)
    console.print(backends)


@app.command("make-tiny-models")
def make_tiny_models_command(out: Path = typer.Argument(..., help="Folder to write clip/, vlm/, sd/ into.")) -> None:
    """Write tiny random models usable as specs (for tests and offline demos)."""
    from vlmcult.testing.tiny import make_tiny_models

    paths = make_tiny_models(out)
    typer.echo(f"openclip:local-dir:{paths['clip']}")
    typer.echo(f"hf:{paths['vlm']}")
    typer.echo(f"diffusers:{paths['sd']}")


@app.command("demo")
def demo_command(out: Path = typer.Option(Path("demo-out"), "--out", help="Folder for the demo's runs and report.")) -> None:
    """Offline end-to-end demo on tiny models and embedded samples of each benchmark."""
    from vlmcult.demo import run_demo

    run_demo(out)


# The retrieval and generation tracks' commands (their modules import only typer at load time).
app.add_typer(index_app, name="index", help="Build and search retrieval indexes.")
app.command("generate")(generation_cli.generate)
app.command("audit")(generation_cli.audit)


def main() -> None:
    """Console entry point: user errors are one line on stderr and exit code 2."""
    run_command(app)  # typer runs standalone: it reports its own usage errors (exit 2) and exits


if __name__ == "__main__":
    main()
