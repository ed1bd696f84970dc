"""A faiss index over a corpus, saved as a folder that records how it was made.

Folder layout (contract): `index.faiss` (the faiss index), `docs.parquet` (row -> doc_id, title,
text, url, chunk; row i is vector i) and `meta.json` (factory string, metric, dim, count, encoder
id and spec, normalisation, chunking, corpus fingerprint, search parameters, build time, versions).

Building streams the corpus in shards of `shard_size` passages: each shard's vectors and rows are
written to `OUT/shards/` (atomically), so memory stays bounded and a crashed build resumes at shard
granularity (`resume=True`). The index is then trained on a random sample of the vectors and
filled shard by shard. Vectors are L2-normalised and searched by inner product (= cosine).

The default index depends on the vector count n (measured on 2 cores, see bench/retrieval.py):
exact `Flat` below 100,000 vectors; `IVF{nlist},Flat` above (nlist = a power of two near
sqrt(n)); `IVF{nlist},PQ{m}` when the float32 vectors would not fit in half the memory.
faiss-gpu is used when `faiss.get_num_gpus() > 0`; exact indexes give the same results as on CPU.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from vlmcult.errors import ConfigError, DataError, IndexMismatch, ModelError
from vlmcult.retrieval.corpus import (
    Chunking,
    Passage,
    corpus_files,
    iter_documents,
    iter_passages,
)

INDEX_FORMAT_VERSION = 1
EXACT_LIMIT = 100_000
METRIC = "ip"
DOCS_ROW_GROUP = 8192
ADD_BATCH = 65_536
TRAIN_POINTS_PER_LIST = 64  # faiss needs >= 39 per centroid; its own cap is 256
PQ_TRAIN_MIN = 10_000  # 8-bit PQ codebooks need >= 39 * 256 points
INDEX_FILE, META_FILE, DOCS_FILE, SHARDS_DIR = "index.faiss", "meta.json", "docs.parquet", "shards"


@dataclass(frozen=True)
class Hit:
    """One search result: a passage and its cosine similarity to the query."""

    doc_id: str
    title: str
    text: str
    score: float
    row: int
    url: str = ""
    chunk: int = 0


# -- the default index ----------------------------------------------------------------------------


def available_memory_bytes() -> int:
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def ivf_lists(n: int) -> int:
    """A power of two near sqrt(n), between 256 and 65,536."""
    return int(min(65_536, max(256, 2 ** round(math.log2(math.sqrt(max(n, 1)))))))


def pq_subquantizers(dim: int) -> int:
    """PQ code bytes per vector: dim/8 where that divides (4x smaller codes than dim/2 SQ), else a divisor."""
    for m in (dim // 8, 64, 48, 32, 24, 16, 8, 4, 2, 1):
        if m >= 1 and dim % m == 0:
            return m
    return 1


def default_factory(n: int, dim: int, memory_bytes: int | None = None) -> tuple[str, dict[str, int]]:
    """(faiss index_factory string, search parameters) chosen from the vector count and memory."""
    if n < EXACT_LIMIT:
        return "Flat", {}
    nlist = ivf_lists(n)
    # nprobe scans ~0.8% of the lists. On 200k x 512 clustered vectors (bench/retrieval.py, 2 cores)
    # IVF512 with nprobe 2/4/8 all gave recall@10 1.0; 4 ran at 30-40x the q/s of numpy brute force.
    search = {"nprobe": max(4, nlist // 128)}
    budget = (memory_bytes if memory_bytes is not None else available_memory_bytes()) // 2
    if n * dim * 4 > budget:
        return f"IVF{nlist},PQ{pq_subquantizers(dim)}", search
    return f"IVF{nlist},Flat", search


# -- building -------------------------------------------------------------------------------------


def _atomic_write_json(path: Path, value: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _shard_paths(work: Path, shard: int) -> tuple[Path, Path]:
    return work / f"vecs-{shard:06d}.npy", work / f"docs-{shard:06d}.parquet"


def _batched(passages: Iterator[Passage], size: int) -> Iterator[list[Passage]]:
    batch: list[Passage] = []
    for passage in passages:
        batch.append(passage)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _write_docs(path: Path, passages: Sequence[Passage]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "doc_id": [p.doc_id for p in passages],
            "title": [p.title for p in passages],
            "text": [p.text for p in passages],
            "url": [p.url for p in passages],
            "chunk": pa.array([p.chunk for p in passages], type=pa.int32()),
        }
    )
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp, row_group_size=DOCS_ROW_GROUP)
    os.replace(tmp, path)


def check_corpus(corpus: str | Path, *, skip_empty: bool = False) -> list[Path]:
    """The corpus files, each readable and the first document valid; otherwise one DataError line.

    Builds call this before loading an encoder, so a wrong path fails in a second, not after a model load.
    """
    files = corpus_files(corpus)
    for file in files:
        try:
            with open(file, "rb") as handle:
                handle.read(1)
        except OSError as exc:
            raise DataError(f"cannot read corpus file {file} ({exc.strerror or type(exc).__name__})") from None
    documents = iter_documents(corpus, skip_empty=skip_empty)
    try:
        next(documents, None)
    except UnicodeDecodeError:
        raise DataError(f"corpus {corpus} is not UTF-8 text (JSONL) or parquet") from None
    finally:
        documents.close()
    return files


def embed_shards(
    corpus: str | Path,
    embedder: Any,
    work_dir: str | Path,
    *,
    chunking: Chunking | None = None,
    shard_size: int = 50_000,
    batch_size: int = 256,
    skip_empty: bool = False,
    worker: int = 0,
    workers: int = 1,
    progress: bool = True,
) -> int:
    """Embed the corpus into `work_dir` shard by shard; returns the number of shards.

    Shard i holds passages [i*shard_size, (i+1)*shard_size) in corpus order. A shard whose files
    exist is skipped (resume). With `workers` > 1, worker w embeds the shards i with i % workers == w,
    so one process per GPU can share the work; `assemble_index` then builds from all shards.
    """
    from tqdm import tqdm

    chunking = chunking or Chunking()
    if shard_size < 1 or batch_size < 1:
        raise ConfigError("shard_size and batch_size must be at least 1")
    work = Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    settings = {"encoder": embedder.id, "dim": int(embedder.dim), "chunking": chunking.to_json(),
                "shard_size": shard_size, "corpus": str(Path(corpus).resolve())}
    settings_path = work / "build.json"
    if settings_path.exists():
        previous = json.loads(settings_path.read_text(encoding="utf-8"))
        if previous != settings:
            raise ConfigError(
                f"{work} holds shards made with other settings ({previous}); use another --out or delete it"
            )
    elif worker == 0:
        _atomic_write_json(settings_path, settings)

    n_shards = 0
    bar = tqdm(desc=f"embedding (worker {worker})", unit="passage", disable=not progress)
    try:
        for shard, passages in enumerate(_batched(iter_passages(corpus, chunking, skip_empty=skip_empty), shard_size)):
            n_shards = shard + 1
            vec_path, docs_path = _shard_paths(work, shard)
            if shard % workers != worker or (vec_path.exists() and docs_path.exists()):
                continue
            vectors = np.zeros((len(passages), embedder.dim), dtype=np.float32)
            for start in range(0, len(passages), batch_size):
                texts = [p.text for p in passages[start : start + batch_size]]
                block = np.asarray(embedder.embed_texts(texts), dtype=np.float32)
                if block.shape != (len(texts), embedder.dim):
                    raise DataError(f"encoder {embedder.id} returned shape {block.shape} for {len(texts)} texts")
                vectors[start : start + len(texts)] = block
                bar.update(len(texts))
            tmp = vec_path.with_name(vec_path.name + ".tmp.npy")
            np.save(tmp, vectors)
            os.replace(tmp, vec_path)
            _write_docs(docs_path, passages)  # written last: its presence marks the shard complete
    finally:
        bar.close()  # ends the bar's line, so an error message starts on a line of its own
    _atomic_write_json(work / f"done-{worker}-of-{workers}.json", {"shards": n_shards})
    return n_shards


def _sample_rows(shards: list[np.ndarray], total: int, size: int, seed: int = 0) -> np.ndarray:
    """`size` distinct random rows drawn across the memory-mapped shards."""
    if size >= total:
        return np.concatenate([np.asarray(s, dtype=np.float32) for s in shards])
    picks = np.sort(np.random.default_rng(seed).choice(total, size=size, replace=False))
    out, offset = [], 0
    for shard in shards:
        local = picks[(picks >= offset) & (picks < offset + len(shard))] - offset
        if len(local):
            out.append(np.asarray(shard[local], dtype=np.float32))
        offset += len(shard)
    return np.concatenate(out)


def _to_gpu(index: Any) -> Any:
    """The index on all GPUs when faiss sees one and supports the type; otherwise unchanged."""
    import faiss

    if faiss.get_num_gpus() <= 0:
        return index
    try:
        return faiss.index_cpu_to_all_gpus(index)
    except Exception:  # a type faiss-gpu does not implement (e.g. HNSW): stay on CPU
        return index


def make_index(factory: str, dim: int) -> Any:
    import faiss

    try:
        return faiss.index_factory(dim, factory, faiss.METRIC_INNER_PRODUCT)
    except Exception:
        raise ConfigError(
            f"faiss cannot make an index from factory string {factory!r} (examples: Flat, IVF1024,Flat, IVF4096,PQ48, HNSW32)"
        ) from None


def apply_search_params(index: Any, params: dict[str, Any]) -> None:
    import faiss

    space = faiss.ParameterSpace()
    for name, value in params.items():
        try:
            space.set_index_parameter(index, name, value)
        except Exception:
            raise ConfigError(f"search parameter {name}={value} does not apply to this index") from None


def _train_size(index: Any, n: int, train_size: int | None) -> int:
    import faiss

    if train_size is not None:
        return min(n, train_size)
    size = PQ_TRAIN_MIN
    try:
        size = max(size, TRAIN_POINTS_PER_LIST * faiss.extract_index_ivf(index).nlist)
    except Exception:  # no IVF inside
        pass
    return min(n, size)


def assemble_index(
    work_dir: str | Path,
    out: str | Path,
    *,
    encoder_spec: str | None = None,
    factory: str | None = None,
    search_params: dict[str, Any] | None = None,
    train_size: int | None = None,
    keep_shards: bool = False,
    started: float | None = None,
) -> Path:
    """Build `index.faiss`, `docs.parquet` and `meta.json` in `out` from the shards in `work_dir`."""
    import faiss
    import pyarrow.parquet as pq

    from vlmcult.retrieval.encode import portable_spec

    started = time.time() if started is None else started
    work, out = Path(work_dir), Path(out)
    settings = json.loads((work / "build.json").read_text(encoding="utf-8"))
    done = sorted(work.glob("done-*-of-*.json"))
    if not done:
        raise DataError(f"no finished embedding pass in {work}; run the embedding step first")
    n_shards = max(json.loads(p.read_text(encoding="utf-8"))["shards"] for p in done)
    missing = [i for i in range(n_shards) if not all(p.exists() for p in _shard_paths(work, i))]
    if missing:
        raise DataError(f"{len(missing)} shard(s) not embedded yet in {work} (first: {missing[0]}); resume the build")
    shards = [np.load(_shard_paths(work, i)[0], mmap_mode="r") for i in range(n_shards)]
    total = int(sum(len(s) for s in shards))
    if total == 0:
        raise DataError("the corpus produced no passages to index")
    dim = int(settings["dim"])

    if factory is None:
        factory, default_params = default_factory(total, dim)
        search_params = {**default_params, **(search_params or {})}
    search_params = dict(search_params or {})
    index = make_index(factory, dim)
    if not index.is_trained:
        sample = _sample_rows(shards, total, _train_size(index, total, train_size))
        if faiss.get_num_gpus() > 0:
            try:  # k-means on the GPU; the trained index itself stays a CPU index
                faiss.extract_index_ivf(index).clustering_index = faiss.index_cpu_to_all_gpus(faiss.IndexFlatL2(dim))
            except Exception:
                pass
        try:
            index.train(sample)
        except Exception as exc:
            raise ConfigError(f"training {factory!r} on {len(sample)} vectors failed: {exc}".splitlines()[0]) from None
        del sample
    device_index = _to_gpu(index)
    for shard in shards:
        for start in range(0, len(shard), ADD_BATCH):
            device_index.add(np.ascontiguousarray(shard[start : start + ADD_BATCH], dtype=np.float32))
    if device_index is not index:  # back to CPU for writing (a replicated index copies its first replica)
        index = faiss.index_gpu_to_cpu(device_index)
    apply_search_params(index, search_params)

    out.mkdir(parents=True, exist_ok=True)
    fingerprint = hashlib.sha256()
    docs_tmp = out / (DOCS_FILE + ".tmp")
    writer = None
    try:
        for i in range(n_shards):
            table = pq.read_table(_shard_paths(work, i)[1])
            for doc_id, chunk, text in zip(
                table.column("doc_id").to_pylist(), table.column("chunk").to_pylist(), table.column("text").to_pylist()
            ):
                fingerprint.update(f"{doc_id}\x1f{chunk}\x1f{text}\x1e".encode())
            if writer is None:
                writer = pq.ParquetWriter(docs_tmp, table.schema)
            writer.write_table(table, row_group_size=DOCS_ROW_GROUP)
    finally:
        if writer is not None:
            writer.close()
    os.replace(docs_tmp, out / DOCS_FILE)
    index_tmp = out / (INDEX_FILE + ".tmp")
    faiss.write_index(index, str(index_tmp))
    os.replace(index_tmp, out / INDEX_FILE)

    from importlib.metadata import PackageNotFoundError, version

    try:
        vlmcult_version = version("vlmcult")
    except PackageNotFoundError:
        vlmcult_version = "unknown"
    meta = {
        "format_version": INDEX_FORMAT_VERSION,
        "factory": factory,
        "metric": METRIC,
        "normalized": True,
        "dim": dim,
        "count": int(index.ntotal),
        "index_bytes": (out / INDEX_FILE).stat().st_size,
        # local model paths made absolute: the index loads its encoder from any working directory
        "encoder": {"id": settings["encoder"], "spec": portable_spec(encoder_spec) if encoder_spec else None},
        "chunking": settings["chunking"],
        "corpus": settings["corpus"],
        "corpus_fingerprint": fingerprint.hexdigest(),
        "search_params": search_params,
        "build_seconds": round(time.time() - started, 3),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "vlmcult_version": vlmcult_version,
        "faiss_version": faiss.__version__,
    }
    _atomic_write_json(out / META_FILE, meta)
    if not keep_shards:
        shutil.rmtree(work, ignore_errors=True)
    return out


def build_index(
    corpus: str | Path,
    encoder: Any,
    out: str | Path,
    factory: str | None = None,
    *,
    chunking: Chunking | None = None,
    search_params: dict[str, Any] | None = None,
    batch_size: int = 256,
    shard_size: int = 50_000,
    train_size: int | None = None,
    skip_empty: bool = False,
    device: str | None = None,
    overwrite: bool = False,
    resume: bool = False,
    keep_shards: bool = False,
    progress: bool = True,
) -> Path:
    """Embed a corpus with `encoder` (a spec string or an Embedder) and write an index folder `out`.

    `factory` is any faiss index_factory string (default: chosen from the corpus size, see
    `default_factory`). Returns `out`.
    """
    from vlmcult.retrieval.encode import load_embedder

    started = time.time()
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; give a folder for the index")
    if (out / META_FILE).exists() and not (overwrite or resume):
        raise ConfigError(f"{out} already holds an index; pass --overwrite to replace it")
    check_corpus(corpus, skip_empty=skip_empty)  # before deleting anything or loading the encoder
    if out.exists() and overwrite:
        for name in (INDEX_FILE, META_FILE, DOCS_FILE, SHARDS_DIR):
            target = out / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    embedder = load_embedder(encoder, device=device)
    if factory is not None:
        make_index(factory, int(embedder.dim))  # refuse a bad factory string before embedding
    spec = encoder if isinstance(encoder, str) else getattr(embedder, "spec", None)
    work = out / SHARDS_DIR
    if work.exists() and not resume:
        shutil.rmtree(work)
    embed_shards(
        corpus, embedder, work, chunking=chunking, shard_size=shard_size, batch_size=batch_size,
        skip_empty=skip_empty, progress=progress,
    )
    return assemble_index(
        work, out, encoder_spec=spec, factory=factory, search_params=search_params,
        train_size=train_size, keep_shards=keep_shards, started=started,
    )


# -- loading and searching ------------------------------------------------------------------------


class DocTable:
    """Row lookups in docs.parquet that read only the row groups they need (a few cached)."""

    COLUMNS = ("doc_id", "title", "text", "url", "chunk")

    def __init__(self, path: Path, cache_groups: int = 8) -> None:
        import pyarrow.parquet as pq

        try:
            self.file = pq.ParquetFile(path)
        except Exception as exc:
            raise DataError(f"cannot read {path} ({exc}); rebuild the index".splitlines()[0]) from None
        missing = set(self.COLUMNS) - set(self.file.schema_arrow.names)
        if missing:
            raise DataError(f"{path} lacks column(s) {', '.join(sorted(missing))}; rebuild the index")
        sizes = [self.file.metadata.row_group(g).num_rows for g in range(self.file.num_row_groups)]
        self.starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.num_rows = int(self.starts[-1])
        self.cache: OrderedDict[int, dict[str, list[Any]]] = OrderedDict()
        self.cache_groups = cache_groups

    def _group(self, group: int) -> dict[str, list[Any]]:
        if group in self.cache:
            self.cache.move_to_end(group)
            return self.cache[group]
        table = self.file.read_row_group(group, columns=list(self.COLUMNS))
        columns = {name: table.column(name).to_pylist() for name in self.COLUMNS}
        self.cache[group] = columns
        if len(self.cache) > self.cache_groups:
            self.cache.popitem(last=False)
        return columns

    def row(self, row: int) -> dict[str, Any]:
        group = int(np.searchsorted(self.starts, row, side="right") - 1)
        columns = self._group(group)
        local = row - int(self.starts[group])
        return {name: columns[name][local] for name in self.COLUMNS}

    def iter_rows(self) -> Iterator[dict[str, Any]]:
        for group in range(self.file.num_row_groups):
            columns = self._group(group)
            for local in range(len(columns["doc_id"])):
                yield {name: columns[name][local] for name in self.COLUMNS}


class RetrievalIndex:
    """A loaded index folder. `search(texts=... | images=... | vectors=..., k=10)`."""

    def __init__(self, path: Path, meta: dict[str, Any], index: Any, docs: DocTable, embedder: Any = None) -> None:
        self.path = path
        self.meta = meta
        self.index = index
        self.docs = docs
        self._embedder = embedder

    def __len__(self) -> int:
        return int(self.meta["count"])

    @property
    def encoder_id(self) -> str:
        return str(self.meta["encoder"]["id"])

    @property
    def chunking(self) -> str:
        return str(self.meta.get("chunking", {}).get("mode", "words"))

    @property
    def embedder(self) -> Any:
        if self._embedder is None:
            spec = self.meta["encoder"].get("spec")
            if not spec:
                raise ConfigError(
                    f"index {self.path} was built with an embedder object ({self.encoder_id}); pass encoder= to load_index"
                )
            from vlmcult.retrieval.encode import load_embedder

            try:
                self._embedder = load_embedder(spec)
            except ModelError as first:
                # An index written before specs were stored portable may hold a relative folder; its encoder
                # id names the same model by an absolute path (openclip:local-dir:/..., hf:/..., sbert:/...).
                if self.encoder_id == spec:
                    raise
                try:
                    self._embedder = load_embedder(self.encoder_id)
                except ModelError:
                    raise first from None
            _check_encoder(self.path, self.meta, self._embedder)
        return self._embedder

    def search(
        self,
        texts: Sequence[str] | None = None,
        images: Sequence[Any] | None = None,
        *,
        vectors: np.ndarray | None = None,
        k: int = 10,
        unique_docs: bool = False,
    ) -> list[list[Hit]]:
        """The top-k passages for each query (one of texts, images, vectors), best first.

        With `unique_docs`, each document appears once (its best passage), k documents per query.
        """
        given = [name for name, value in (("texts", texts), ("images", images), ("vectors", vectors)) if value is not None]
        if len(given) != 1:
            raise ConfigError("search needs exactly one of texts=, images= or vectors=")
        if isinstance(texts, str):
            texts = [texts]
        if k < 1:
            raise ConfigError(f"k must be at least 1 (got {k})")
        if k > len(self):
            raise DataError(f"k={k} is larger than the index ({len(self)} vectors); use -k {len(self)} or less")
        if texts is not None:
            queries = self.embedder.embed_texts(list(texts))
        elif images is not None:
            from vlmcult.retrieval.encode import as_pil_images

            queries = self.embedder.embed_images(as_pil_images(list(images)))
        else:
            queries = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        if queries.ndim != 2 or queries.shape[1] != self.meta["dim"]:
            raise IndexMismatch(
                f"query vectors have dimension {queries.shape[-1]}, the index at {self.path} has {self.meta['dim']}"
            )
        if len(queries) == 0:
            return []
        fetch = k if not unique_docs else min(len(self), k * 4)
        while True:
            scores, rows = self.index.search(queries, fetch)
            results = [self._hits(score_row, row_row, k, unique_docs) for score_row, row_row in zip(scores, rows)]
            short = unique_docs and fetch < len(self) and any(len(r) < k for r in results)
            if not short:
                return results
            fetch = min(len(self), fetch * 4)

    def _hits(self, scores: np.ndarray, rows: np.ndarray, k: int, unique_docs: bool) -> list[Hit]:
        hits: list[Hit] = []
        seen: set[str] = set()
        for score, row in zip(scores, rows):
            if row < 0:  # fewer results than asked (an IVF probe found too few)
                continue
            record = self.docs.row(int(row))
            if unique_docs:
                if record["doc_id"] in seen:
                    continue
                seen.add(record["doc_id"])
            hits.append(
                Hit(doc_id=record["doc_id"], title=record["title"], text=record["text"], score=float(score),
                    row=int(row), url=record["url"] or "", chunk=int(record["chunk"]))
            )
            if len(hits) == k:
                break
        return hits


def _check_encoder(path: Path, meta: dict[str, Any], embedder: Any) -> None:
    built = meta["encoder"]["id"]
    if embedder.id != built:
        raise IndexMismatch(
            f"index {path} was built with encoder {built} (dim {meta['dim']}), not {embedder.id}; "
            f"search it with that encoder or rebuild the index"
        )
    if int(embedder.dim) != int(meta["dim"]):
        raise IndexMismatch(f"index {path} has dimension {meta['dim']} but encoder {embedder.id} gives {embedder.dim}")


def read_meta(path: str | Path) -> dict[str, Any]:
    """meta.json of an index folder, or DataError when the folder is not an index."""
    path = Path(path)
    if not path.is_dir():
        raise DataError(f"index folder not found: {path}")
    meta_path = path / META_FILE
    if not meta_path.is_file():
        raise DataError(f"{path} is not a vlmcult index (no {META_FILE}); build one with `vlmcult index build`")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{meta_path} is not valid JSON ({exc}); rebuild the index".splitlines()[0]) from None
    required = ("format_version", "factory", "metric", "dim", "count", "encoder")
    missing = [key for key in required if key not in meta]
    if missing:
        raise DataError(f"{meta_path} lacks {', '.join(missing)}; rebuild the index")
    if int(meta["format_version"]) > INDEX_FORMAT_VERSION:
        raise DataError(f"{path} was written by a newer vlmcult (index format {meta['format_version']}); upgrade vlmcult")
    return meta


def load_index(
    path: str | Path,
    encoder: Any = None,
    *,
    metric: str | None = None,
    device: str | None = None,
    gpu: bool | None = None,
) -> RetrievalIndex:
    """Load an index folder; refuse it when `encoder` (spec or Embedder) or `metric` differ from the build."""
    import faiss

    path = Path(path)
    meta = read_meta(path)
    if metric is not None and metric != meta["metric"]:
        raise IndexMismatch(f"index {path} uses metric {meta['metric']!r}, not {metric!r}; rebuild it")
    embedder = None
    if encoder is not None:
        from vlmcult.retrieval.encode import load_embedder

        if isinstance(encoder, str) and encoder.startswith("sbert:"):
            from vlmcult.models.sbert import resolve

            if resolve(encoder.partition(":")[2])[1] != meta["encoder"]["id"]:  # refuse before loading weights
                raise IndexMismatch(
                    f"index {path} was built with encoder {meta['encoder']['id']} (dim {meta['dim']}), not {encoder}; "
                    f"search it with that encoder or rebuild the index"
                )
        embedder = load_embedder(encoder, device=device)
        _check_encoder(path, meta, embedder)
    index_path = path / INDEX_FILE
    if not index_path.is_file():
        raise DataError(f"{index_path} is missing; rebuild the index")
    expected_bytes = meta.get("index_bytes")
    if expected_bytes is not None and index_path.stat().st_size != expected_bytes:
        raise DataError(
            f"{index_path} is truncated or altered ({index_path.stat().st_size} bytes, {expected_bytes} written); rebuild the index"
        )
    try:
        index = faiss.read_index(str(index_path))
    except Exception as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{index_path} is unreadable or truncated ({reason}); rebuild the index") from None
    if index.ntotal != meta["count"] or index.d != meta["dim"]:
        raise DataError(
            f"{index_path} holds {index.ntotal} vectors of dim {index.d}, {META_FILE} says {meta['count']} of dim {meta['dim']}; rebuild the index"
        )
    if index.metric_type != faiss.METRIC_INNER_PRODUCT:
        raise IndexMismatch(f"{index_path} does not use inner-product search; rebuild it with vlmcult")
    docs = DocTable(path / DOCS_FILE) if (path / DOCS_FILE).is_file() else None
    if docs is None:
        raise DataError(f"{path / DOCS_FILE} is missing; rebuild the index")
    if docs.num_rows != meta["count"]:
        raise DataError(f"{path / DOCS_FILE} has {docs.num_rows} rows for {meta['count']} vectors; rebuild the index")
    apply_search_params(index, meta.get("search_params") or {})
    if gpu is not False:
        index = _to_gpu(index)
    return RetrievalIndex(path, meta, index, docs, embedder)
