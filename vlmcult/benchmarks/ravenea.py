"""RAVENEA (Li, Yuan, ... Belongie; arXiv 2505.14462, ICLR 2026): the v2 release and its cVQA task.

Release layout (HF `jaagli/ravenea`, `ravenea.zip`, unpacked): `images/`, `metadata*.jsonl`,
`cvqa_downstream.jsonl`, `cic_downstream.jsonl`, `wiki_documents.jsonl`. `file_name` values look like
`./ravenea/images/ccub_307_India_88.jpg` and are resolved inside the release folder, never outside it.

`ravenea-cvqa` follows the official v2 code (yfyuan01/RAVENEA@b7b3c29 `src/downstream_cvqa.py`,
`src/helper.py`, `src/metrics.py`): sample id `f"{file_name}_{i}"`, the v2 prompt ending in the
`Answer: $LETTER` line, case-sensitive `is_match` parsing, accuracy per country and category.
Variants: `rag=off`; `rag=oracle` inserts the sample's own highest-graded candidate document (first of
the ties) with the official RAG sentence (the upper bound retrieval is measured against); `rag=on`
retrieves with the image from `--index DIR` (`--top-k`, default 1 as in the paper).
The official code decodes up to 2048 new tokens; the default here is 2048 as well (`--max-new-tokens`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vlmcult.benchmarks.base import Benchmark, option_letters
from vlmcult.datasource import download_hub_dataset, iter_jsonl, looks_like_hub_id
from vlmcult.errors import ConfigError, DataError
from vlmcult.types import Request, Sample

HUB_ID = "jaagli/ravenea"

# v2 src/helper.py is_match
_ANSWER_LINE = re.compile(r"Answer:\s*([A-D])(?:\s*\)\s*(.*)?)?")
_LEADING_LETTER = re.compile(r"^([A-D])\s*\)\s*(.*)")
_GOLD_LETTER = re.compile(r"^([A-D])(?:\)|\s|$)")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return list(iter_jsonl(path))


def resolve_release(source: str | Path | None) -> Path:
    """The unpacked release folder (a local path, or the hub zip when online)."""
    if source is None:
        raise DataError("no RAVENEA data given: pass --data DIR (the unpacked ravenea.zip)")
    text = str(source)
    if looks_like_hub_id(text):
        import zipfile

        snapshot = download_hub_dataset(text, ["ravenea.zip"])
        target = snapshot / "ravenea"
        if not target.exists():
            with zipfile.ZipFile(snapshot / "ravenea.zip") as archive:
                archive.extractall(snapshot)
        return target if target.exists() else snapshot
    path = Path(text).expanduser()
    if not path.is_dir():
        raise DataError(f"RAVENEA release folder not found: {path}")
    return path


def resolve_image(release_dir: Path, file_name: str) -> Path:
    """`./ravenea/images/x.jpg` -> release_dir/images/x.jpg; refuses anything outside the folder."""
    relative = str(file_name).replace("\\", "/")
    for prefix in ("./ravenea/", "ravenea/", "./"):
        if relative.startswith(prefix):
            relative = relative[len(prefix):]
            break
    root = release_dir.resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root):
        raise DataError(f"image path {file_name!r} points outside the release folder")
    return path


def read_documents(release_dir: Path) -> dict[str, dict[str, Any]]:
    """wiki_documents.jsonl -> {id: document}."""
    path = release_dir / "wiki_documents.jsonl"
    documents = {}
    for row in iter_jsonl(path):
        if "id" not in row:
            raise DataError(f"{path}: a document has no 'id'")
        documents[str(row["id"])] = row
    return documents


def extract_letter(prediction: str) -> str | None:
    """The answer letter as the official v2 `is_match` finds it (case-sensitive), or None."""
    prediction = prediction or ""
    match = _ANSWER_LINE.search(prediction)
    if match:
        return match.group(1)
    match = _LEADING_LETTER.match(prediction)
    if match:
        return match.group(1)
    stripped = prediction.strip()
    return stripped if len(stripped) == 1 else None


def gold_letter(answer: str) -> str:
    match = _GOLD_LETTER.match(answer)
    return match.group(1) if match else answer.strip()


class RaveneaBase(Benchmark):
    """Shared release handling and retrieval variants of the RAVENEA downstream tasks."""

    default_source = None
    source_help = "the unpacked RAVENEA v2 release folder (ravenea.zip from HF jaagli/ravenea)"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._documents: dict[str, dict[str, Any]] | None = None
        self._index: Any = None
        top_k = self.options.get("top_k")
        self.top_k = 1 if top_k is None else int(top_k)
        if self.top_k < 1:
            raise ConfigError(f"--top-k must be at least 1 (got {top_k})")
        if self.variant.get("rag") == "on":
            if not self.options.get("index"):
                raise ConfigError(f"{self.name} with rag=on needs --index DIR (build one with `vlmcult index build`)")
            from vlmcult.retrieval.index import load_index

            # open it now: a wrong index is one error before any model loads, not an error per item
            self._index = load_index(self.options["index"])
        elif self.options.get("index") or top_k is not None:
            raise ConfigError(f"--index and --top-k only apply to {self.name} with --variant rag=on")

    @property
    def release_dir(self) -> Path:
        if not hasattr(self, "_release_dir"):
            self._release_dir = resolve_release(self.source)
        return self._release_dir

    def documents(self) -> dict[str, dict[str, Any]]:
        if self._documents is None:
            self._documents = read_documents(self.release_dir)
        return self._documents

    def context_documents(self, sample: Sample, image: Any) -> list[tuple[str, str, float | None]]:
        """(doc id, text ready to insert, score) for this sample's rag variant (RAVENEA inserts the top 1)."""
        from vlmcult.retrieval.augment import oracle_doc_ids, ravenea_doc_text, retrieve_for_image

        rag = self.variant.get("rag", "off")
        if rag == "off":
            return []
        if rag == "oracle":
            ids = sample.fields.get("enwiki_ids") or []
            grades = sample.fields.get("culture_relevance") or []
            if not ids or len(ids) != len(grades):
                raise DataError(f"sample {sample.id} has no graded candidate documents for rag=oracle")
            doc_id = oracle_doc_ids(ids, grades, 1)[0]
            document = self.documents().get(str(doc_id))
            if document is None:
                raise DataError(f"oracle document {doc_id!r} is not in wiki_documents.jsonl")
            return [(str(doc_id), ravenea_doc_text(document.get("text", "")), None)]
        return [(doc_id, text, score) for doc_id, _title, text, score in retrieve_for_image(self._index, image, self.top_k)]

    def record_extra(self, sample: Sample, requests: list[Request]) -> dict[str, Any]:
        docs = sample.fields.get("_context") or []
        if not docs:
            return {}
        return {"retrieved": [{"doc_id": d, "score": s} for d, _t, s in docs]}


class RaveneaCVQA(RaveneaBase):
    """RAVENEA cVQA: multiple-choice cultural VQA with optional Wikipedia context (official v2 protocol)."""

    name = "ravenea-cvqa"
    version = "2"
    variants = {"rag": ("off", "oracle", "on")}
    metrics = ("accuracy",)
    group_keys = ("country", "category")
    multiple_choice = True
    default_max_new_tokens = 2048

    def count(self) -> int | None:
        return sum(len(row.get("questions") or []) for row in iter_jsonl(self.release_dir / "cvqa_downstream.jsonl"))

    def load(self) -> Iterator[Sample]:
        path = self.release_dir / "cvqa_downstream.jsonl"
        for number, row in enumerate(iter_jsonl(path), start=1):
            for key in ("file_name", "questions", "options", "answers"):
                if key not in row:
                    raise DataError(f"{path}: line {number} lacks the field {key!r}")
            image_path = resolve_image(self.release_dir, row["file_name"])
            for i, (question, options, answer) in enumerate(zip(row["questions"], row["options"], row["answers"])):
                yield Sample(
                    id=f"{row['file_name']}_{i}",
                    image=image_path,
                    fields={"question": question, "options": list(options),
                            "enwiki_ids": row.get("enwiki_ids"), "culture_relevance": row.get("culture_relevance")},
                    target=answer,
                    groups={"country": row.get("country"), "category": row.get("category")},
                )

    def build_requests(self, sample: Sample, image: Any) -> list[Request]:
        from vlmcult.retrieval.augment import cvqa_prompt

        docs = self.context_documents(sample, image)
        sample.fields["_context"] = docs
        prompt = cvqa_prompt(sample.fields["question"], sample.fields["options"], [text for _d, text, _s in docs])
        # Released options read "A. text"; a CLIP scorer compares the image with the text alone.
        choices = [re.sub(r"^[A-D][.)]\s*", "", option) for option in sample.fields["options"]]
        return [Request(parts=[image, prompt], max_new_tokens=self.max_new_tokens, choices=choices,
                        choice_labels=option_letters(len(choices)))]

    def parse(self, sample: Sample, outputs: list[str]) -> str | None:
        return extract_letter(outputs[0])

    def score(self, sample: Sample, parsed: str | None) -> dict[str, float | None]:
        if sample.target is None:
            return {"accuracy": None}
        return {"accuracy": float(parsed is not None and parsed == gold_letter(str(sample.target)))}
