"""RAVENEA retrieval (`ravenea-retrieval`): rank Wikipedia documents for a cultural image.

Data: the unpacked RAVENEA v2 release (`metadata_test.jsonl` etc. with `file_name`, `country`,
`category`, `enwiki_ids` (10 candidate doc ids), `culture_relevance` (10 grades in [-3, 3]), and
`wiki_documents.jsonl` with `id`, `title`, `text`). The query id is `file_name`.

Protocol (yfyuan01/RAVENEA src/inference.py@1dadf88): the query is the image alone; each of the 10
candidates is embedded from its text with Markdown heading lines removed; candidates without text
are left out of the ranking (as the official loop does); ranking is by similarity, ties keep the
candidate order. The model is an Embedder (`openclip:`, `hf:` CLIP/SigLIP); cosine similarity ranks
exactly as the official `logits_per_image` (a positive scale times the cosine, plus a bias).
The run is written as the official TREC file `run.trec` (`q_id Q0 doc_id rank score run_name`,
tab-separated, rank 0-based). Metrics: `vlmcult.metrics.retrieval` (gdeval.py), as fractions.

Variants: `split=test|val|train|all` (metadata_test.jsonl is the official evaluation split; `all` is
metadata.jsonl); `mode=candidates` (official: rerank the 10 candidates) or `mode=corpus` (search the
whole index given by `--index DIR`, built from `wiki_documents.jsonl` with the same encoder; the top
`--top-k` documents, default 10, are ranked; documents outside the 10 candidates grade 0 as in gdeval).
Queries absent from a scored run file are not scored (gdeval iterates over the run's queries).
Groups: `country` as the release writes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from vlmcult.benchmarks.base import Benchmark
from vlmcult.benchmarks.ravenea import resolve_image, resolve_release
from vlmcult.datasource import iter_jsonl
from vlmcult.errors import ConfigError, DataError
from vlmcult.metrics.retrieval import METRICS, gdeval_scores
from vlmcult.retrieval.corpus import strip_headings
from vlmcult.types import Request, Sample

SPLIT_FILES = {
    "test": "metadata_test.jsonl",
    "val": "metadata_val.jsonl",
    "train": "metadata_train.jsonl",
    "all": "metadata.jsonl",
}
RUN_FILE = "run.trec"


class RaveneaRetrieval(Benchmark):
    """RAVENEA retrieval: rerank the 10 Wikipedia candidates of each image (gdeval MRR, P@k, nDCG@k)."""

    name = "ravenea-retrieval"
    version = "2"
    variants = {"mode": ("candidates", "corpus"), "split": ("test", "val", "train", "all")}
    metrics = METRICS
    group_keys = ("country",)
    default_source = None
    source_help = "the unpacked RAVENEA v2 release folder (ravenea.zip from HF jaagli/ravenea)"
    # The model is an Embedder: a spec string should be loaded with vlmcult.retrieval.encode.load_embedder.
    model_kind = "embedder"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._doc_texts: dict[str, str] | None = None
        self._index: Any = None
        if self.variant["mode"] == "corpus" and not self.options.get("index"):
            raise ConfigError("ravenea-retrieval with mode=corpus needs --index DIR (build one with `vlmcult index build`)")
        self.depth = int(self.options.get("top_k") or 10)

    # -- data ---------------------------------------------------------------------------------
    @property
    def release_dir(self) -> Path:
        if not hasattr(self, "_release_dir"):
            self._release_dir = resolve_release(self.source)
        return self._release_dir

    @property
    def metadata_path(self) -> Path:
        return self.release_dir / SPLIT_FILES[self.variant["split"]]

    def _rows(self) -> Iterator[tuple[int, dict[str, Any]]]:
        path = self.metadata_path
        for number, row in enumerate(iter_jsonl(path), start=1):
            for key in ("file_name", "enwiki_ids", "culture_relevance"):
                if key not in row:
                    raise DataError(f"{path}: row {number} lacks the field {key!r}")
            if len(row["enwiki_ids"]) != len(row["culture_relevance"]):
                raise DataError(f"{path}: row {number} has {len(row['enwiki_ids'])} enwiki_ids but "
                                f"{len(row['culture_relevance'])} culture_relevance grades")
            yield number, row

    def load(self) -> Iterator[Sample]:
        # gdeval.read_gt keys grades by file_name; a file_name listed twice merges its grades.
        merged: dict[str, Sample] = {}
        for _number, row in self._rows():
            file_name = str(row["file_name"])
            grades = {str(d): int(g) for d, g in zip(row["enwiki_ids"], row["culture_relevance"])}
            if file_name in merged:
                merged[file_name].target.update(grades)
                merged[file_name].fields["candidates"] += [d for d in grades if d not in merged[file_name].fields["candidates"]]
                continue
            merged[file_name] = Sample(
                id=file_name,
                image=resolve_image(self.release_dir, file_name),
                fields={"candidates": [str(d) for d in row["enwiki_ids"]], "category": row.get("category")},
                target=grades,
                groups={"country": row.get("country")},
            )
        yield from merged.values()

    def count(self) -> int:
        return len({str(row["file_name"]) for _n, row in self._rows()})

    def doc_texts(self) -> dict[str, str]:
        """wiki_documents.jsonl -> {id: text with heading lines removed} (empty texts dropped)."""
        if self._doc_texts is None:
            path = self.release_dir / "wiki_documents.jsonl"
            texts = {}
            for number, row in enumerate(iter_jsonl(path), start=1):
                if "id" not in row:
                    raise DataError(f"{path}: row {number} has no 'id'")
                text = strip_headings(str(row.get("text") or ""))
                if text:
                    texts[str(row["id"])] = text
            self._doc_texts = texts
        return self._doc_texts

    # -- model calls --------------------------------------------------------------------------
    def build_requests(self, sample: Sample, image: Any) -> list[Request]:
        return [Request(parts=[image], max_new_tokens=0)]

    def predict(self, model: Any, samples: list[Sample], requests: list[list[Request]]) -> list[list[Any]]:
        """Rank documents for each sample's image; one output per sample: [[doc_id, score], ...] best first."""
        from vlmcult.retrieval.encode import Embedder

        if not isinstance(model, Embedder):
            raise ConfigError(
                f"{self.name} needs an embedder (sbert:, openclip: or hf: CLIP/SigLIP), not {type(model).__name__}"
            )
        if not samples:
            return []
        images = [sample_requests[0].images[0] for sample_requests in requests]
        image_vectors = np.asarray(model.embed_images(images), dtype=np.float32)
        if self.variant["mode"] == "corpus":
            return self._predict_corpus(model, image_vectors)
        return self._predict_candidates(model, samples, image_vectors)

    def _predict_candidates(self, model: Any, samples: list[Sample], image_vectors: np.ndarray) -> list[list[Any]]:
        texts = self.doc_texts()
        kept = [[doc_id for doc_id in sample.fields["candidates"] if doc_id in texts] for sample in samples]
        unique_ids = list(dict.fromkeys(doc_id for ids in kept for doc_id in ids))
        vectors = np.asarray(model.embed_texts([texts[d] for d in unique_ids]), dtype=np.float32)
        row_of = {doc_id: row for row, doc_id in enumerate(unique_ids)}
        outputs: list[list[Any]] = []
        for sample, ids, image_vector in zip(samples, kept, image_vectors):
            if not ids:
                outputs.append([DataError(f"none of the candidates of {sample.id} has text in wiki_documents.jsonl")])
                continue
            scores = vectors[[row_of[d] for d in ids]] @ image_vector
            ranked = sorted(zip(ids, scores.tolist()), key=lambda pair: pair[1], reverse=True)  # stable on ties
            outputs.append([[[doc_id, float(score)] for doc_id, score in ranked]])
        return outputs

    def _predict_corpus(self, model: Any, image_vectors: np.ndarray) -> list[list[Any]]:
        from vlmcult.retrieval.index import load_index

        if self._index is None:
            self._index = load_index(self.options["index"], encoder=model)
        prefix = str(self.options.get("doc_id_prefix") or "")
        results = self._index.search(vectors=image_vectors, k=min(self.depth, len(self._index)), unique_docs=True)
        return [[[[prefix + hit.doc_id, hit.score] for hit in hits]] for hits in results]

    def parse(self, sample: Sample, outputs: list[Any]) -> list[str]:
        """The ranked doc ids of the output [[doc_id, score], ...]."""
        ranked = outputs[0]
        if not isinstance(ranked, list):
            raise DataError(f"output of {sample.id} is not a ranked list of [doc_id, score]")
        return [str(entry[0]) for entry in ranked]

    def score(self, sample: Sample, parsed: list[str]) -> dict[str, float | None]:
        if not sample.target:
            return {metric: None for metric in self.metrics}
        return gdeval_scores(parsed, sample.target)

    # -- run files ----------------------------------------------------------------------------
    def _run_name(self, run_dir: Path) -> str:
        import json

        name = self.options.get("run_name")
        if not name:
            try:
                name = json.loads((run_dir / "run_config.json").read_text(encoding="utf-8")).get("model")
            except (OSError, ValueError):
                name = None
        name = str(name or "vlmcult")
        return "".join(ch if ch.isalnum() or ch in "-_.:@/" else "_" for ch in name) or "vlmcult"

    def write_submission(self, records: list[dict[str, Any]], run_dir: Path) -> Path | None:
        """The official TREC run file: `q_id Q0 doc_id rank score run_name`, tab-separated, rank from 0."""
        run_name = self._run_name(run_dir)
        path = Path(run_dir) / RUN_FILE
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            for record in records:
                ranked = record.get("output")
                if record.get("error") or not isinstance(ranked, list):
                    continue
                for rank, (doc_id, score) in enumerate(ranked):
                    handle.write(f"{record['id']}\tQ0\t{doc_id}\t{rank}\t{score!r}\t{run_name}\n")
        tmp.replace(path)
        return path

    def read_outputs(self, path: Path) -> dict[str, Any]:
        """A TREC run made elsewhere -> {q_id: [ranked [[doc_id, score], ...]]} sorted by rank.

        Fields are split on whitespace as gdeval.read_preds does; a line without exactly 6 fields,
        with a non-numeric rank or score, or with a q_id that is not a query of this split is a
        DataError naming the line.
        """
        path = Path(path)
        if not path.is_file():
            raise DataError(f"run file not found: {path}")
        known = {str(row["file_name"]) for _n, row in self._rows()}
        runs: dict[str, list[tuple[float, int, str, float]]] = {}
        with open(path, encoding="utf-8") as handle:
            for line_no, line in enumerate(handle, start=1):
                parts = line.split()
                if not parts:
                    continue
                if len(parts) != 6:
                    raise DataError(
                        f"{path}:{line_no}: expected 6 fields 'q_id Q0 doc_id rank score run_name', got {len(parts)}"
                    )
                q_id, _q0, doc_id, rank, score, _run = parts
                try:
                    rank_value, score_value = int(float(rank)), float(score)
                except ValueError:
                    raise DataError(f"{path}:{line_no}: rank {rank!r} or score {score!r} is not a number") from None
                if q_id not in known:
                    raise DataError(
                        f"{path}:{line_no}: query id {q_id!r} is not in {self.metadata_path.name}; "
                        f"q_id must be the file_name of a query"
                    )
                runs.setdefault(q_id, []).append((rank_value, len(runs.get(q_id, [])), doc_id, score_value))
        if not runs:
            raise DataError(f"run file {path} holds no lines")
        # gdeval sorts each query's documents by rank (a stable sort: equal ranks keep file order)
        return {q_id: [[[doc_id, score] for _r, _i, doc_id, score in sorted(rows, key=lambda r: r[0])]]
                for q_id, rows in runs.items()}
