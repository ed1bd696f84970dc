"""CulturalVQA (Nayak et al., EMNLP 2024, arXiv 2407.10920).

Data: HF `mair-lab/CulturalVQA` (split `test`, parquet `data/test-*.parquet`) or local parquet with
`image`, `question`, `u_id` (optional `country`, `facet`). The answers are not public: every run
writes `submission.csv` (`u_id,answer`). With `--labels FILE` (JSONL: `u_id`, `answers` list,
optional `country`, `facet`) it scores locally:

* `exact_match`: normalised exact match against any reference (lower-case, punctuation and the
  articles a/an/the removed, whitespace collapsed). A proxy, not the paper's metric.
* `lave`: the official metric (LAVE, mair-lab/lave@253640b, GPT-4 in the paper) when `--judge SPEC` is
  given; see vlmcult.metrics.lave.

The paper's prompt was not published; we use the usual short-answer instruction
("Answer the question using a single word or phrase.", as in LLaVA's short-answer VQA prompts).
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vlmcult.benchmarks.base import Benchmark
from vlmcult.datasource import iter_jsonl, iter_parquet_rows, parquet_row_count, resolve_files
from vlmcult.errors import DataError
from vlmcult.types import Request, Sample

HUB_ID = "mair-lab/CulturalVQA"
REQUIRED_COLUMNS = ("image", "question", "u_id")
SHORT_ANSWER = "{question}\nAnswer the question using a single word or phrase."

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans({c: " " for c in string.punctuation})


def normalise_answer(text: str) -> str:
    text = (text or "").lower().translate(_PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def read_labels_jsonl(path: Path) -> dict[str, dict[str, Any]]:
    labels = {}
    for row in iter_jsonl(path):
        if "u_id" not in row or not isinstance(row.get("answers"), list):
            raise DataError(f"{path}: every line needs 'u_id' and an 'answers' list")
        labels[str(row["u_id"])] = row
    if not labels:
        raise DataError(f"{path} holds no labels")
    return labels


class CulturalVQA(Benchmark):
    """CulturalVQA: open-ended cultural VQA over 11 countries (answers hidden; LAVE with --labels and --judge)."""

    name = "culturalvqa"
    version = "1"
    metrics = ("exact_match", "lave")
    group_keys = ("country", "facet")
    default_source = HUB_ID
    source_help = "HF mair-lab/CulturalVQA or local parquet with image, question, u_id"
    default_max_new_tokens = 32

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._labels = read_labels_jsonl(self.labels) if self.labels is not None else None
        self._judge_spec = self.options.get("judge")
        if self._judge_spec:
            from vlmcult.judges import Judge
            from vlmcult.metrics.lave import load_demos

            # read the demos now: offline without --lave-demos fails at once, not after the first batch
            self._lave_state = {"judge": Judge(self._judge_spec), "demos": load_demos(self.options.get("lave_demos"))}

    def _files(self) -> list[Path]:
        return resolve_files(self.source, [".parquet"], ["data/*.parquet", "*.parquet"], what="CulturalVQA data")

    def count(self) -> int | None:
        return parquet_row_count(self._files())

    def load(self) -> Iterator[Sample]:
        for row in iter_parquet_rows(self._files(), REQUIRED_COLUMNS):
            uid = str(row["u_id"])
            label = (self._labels or {}).get(uid, {})
            yield Sample(
                id=uid,
                image=row["image"],
                fields={"question": row["question"]},
                target=list(label["answers"]) if label else None,
                groups={"country": label.get("country", row.get("country")),
                        "facet": label.get("facet", row.get("facet"))},
            )

    def build_requests(self, sample: Sample, image: Any) -> list[Request]:
        prompt = SHORT_ANSWER.format(question=sample.fields["question"])
        return [Request(parts=[image, prompt], max_new_tokens=self.max_new_tokens)]

    def parse(self, sample: Sample, outputs: list[str]) -> str:
        return (outputs[0] or "").strip()

    def score(self, sample: Sample, parsed: str) -> dict[str, float | None]:
        if not sample.target:
            return {"exact_match": None, "lave": None}
        references = {normalise_answer(answer) for answer in sample.target}
        return {"exact_match": float(normalise_answer(parsed) in references), "lave": None}

    def score_batch(self, samples: list[Sample], parsed: list[Any]) -> list[dict[str, float | None]]:
        scores = [self.score(sample, value) for sample, value in zip(samples, parsed)]
        if self._judge_spec and any(sample.target for sample in samples):
            from vlmcult.metrics.lave import lave_for_culturalvqa

            lave = lave_for_culturalvqa(self, samples, parsed)
            for item_scores, value in zip(scores, lave):
                item_scores["lave"] = value
        return scores

    def write_submission(self, records: list[dict[str, Any]], run_dir: Path) -> Path:
        import csv
        import io

        from vlmcult.store import atomic_write_text

        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["u_id", "answer"])
        for record in records:
            writer.writerow([record["id"], record.get("parsed") or ""])
        path = run_dir / "submission.csv"
        atomic_write_text(path, buffer.getvalue())
        return path
