"""Read a document corpus as a stream and cut it into passages.

A corpus is one file or a folder of files, JSONL (`.jsonl`, `.jsonl.gz`) or parquet, with the
columns `id`, `title`, `text` and optionally `url`. RAVENEA's `wiki_documents.jsonl`
(`id, title, text, url, date_modified`) and the Hugging Face Wikipedia dump (`id, url, title, text`
parquet shards, e.g. `wikimedia/wikipedia/20231101.en/train-000NN-of-000MM.parquet`) are both such
corpora. Documents are read one at a time (parquet in record batches), never all at once.

Markdown heading lines are removed as RAVENEA does before it embeds a document
(`re.sub(r'(?m)^#+\\s.*$', '', text).strip()`, yfyuan01/RAVENEA src/inference.py@1dadf88).
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vlmcult.errors import ConfigError, DataError

HEADING_LINE = re.compile(r"(?m)^#+\s.*$")
CORPUS_SUFFIXES = (".jsonl", ".jsonl.gz", ".parquet")
CHUNKING_MODES = ("words", "ravenea", "document")
PARQUET_BATCH_ROWS = 1024


@dataclass(frozen=True)
class Document:
    id: str
    title: str
    text: str
    url: str = ""


@dataclass(frozen=True)
class Passage:
    """One unit that gets one vector: a chunk of a document."""

    doc_id: str
    title: str
    text: str
    url: str = ""
    chunk: int = 0


@dataclass(frozen=True)
class Chunking:
    """How documents become passages.

    `words`: windows of `words` whitespace words that overlap by `overlap` words.
    `ravenea`: one passage per document, RAVENEA's prompt text (first 256 words cut at the last
    sentence end, see `ravenea_doc_text`). `document`: one passage per whole document.
    """

    mode: str = "words"
    words: int = 200
    overlap: int = 40

    def __post_init__(self) -> None:
        if self.mode not in CHUNKING_MODES:
            raise ConfigError(f"unknown chunking {self.mode!r}: choose one of {', '.join(CHUNKING_MODES)}")
        if self.mode == "words":
            if self.words < 1:
                raise ConfigError(f"chunk words must be at least 1 (got {self.words})")
            if not 0 <= self.overlap < self.words:
                raise ConfigError(
                    f"chunk overlap must be between 0 and words-1 (got overlap={self.overlap}, words={self.words})"
                )

    def to_json(self) -> dict[str, Any]:
        if self.mode == "words":
            return {"mode": self.mode, "words": self.words, "overlap": self.overlap}
        return {"mode": self.mode}


def cultural_corpus_path() -> Path:
    """The small cultural corpus shipped in the package (70 short descriptions of cultural artifacts)."""
    from importlib.resources import files

    return Path(str(files("vlmcult") / "data" / "cultural_corpus.jsonl"))


def strip_headings(text: str) -> str:
    """Remove Markdown heading lines, then surrounding whitespace (RAVENEA's doc preprocessing)."""
    return HEADING_LINE.sub("", text).strip()


def ravenea_doc_text(text: str) -> str:
    """The document text RAVENEA puts in a prompt.

    Headings stripped, the first 256 whitespace tokens, cut at the last ". " and "." appended
    (RAVENEA v2 `helper.load_documents`, as described in shared/reference/benchmarks.md section 4;
    the v1 `helper.get_doc_content`@3278d19 does the same cut:
    `" ".join(words[:256]).rsplit(". ", 1)[0] + "."`). Like the original, a text without ". "
    keeps all its words and still gets a "." appended.
    """
    words = strip_headings(text).split()[:256]
    return " ".join(words).rsplit(". ", 1)[0] + "."


def chunk_words(text: str, words: int, overlap: int) -> list[str]:
    """Split text into windows of `words` whitespace words, consecutive windows sharing `overlap`."""
    tokens = text.split()
    if len(tokens) <= words:
        return [" ".join(tokens)] if tokens else []
    step = words - overlap
    chunks = []
    for start in range(0, len(tokens), step):
        chunks.append(" ".join(tokens[start : start + words]))
        if start + words >= len(tokens):
            break
    return chunks


def corpus_files(path: str | Path) -> list[Path]:
    """The corpus files: the file itself, or every JSONL/parquet file under a folder, sorted."""
    path = Path(path)
    if path.is_file():
        if not path.name.endswith(CORPUS_SUFFIXES):
            raise DataError(f"corpus file {path} is not .jsonl, .jsonl.gz or .parquet")
        return [path]
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(CORPUS_SUFFIXES))
        if not files:
            raise DataError(f"corpus folder {path} holds no .jsonl or .parquet files")
        return files
    raise DataError(f"corpus not found: {path}")


def _records(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, record) for every record of one file; `where` is 'file:line' or 'file:row'."""
    if path.name.endswith(".parquet"):
        import pyarrow.parquet as pq

        try:
            parquet = pq.ParquetFile(path)
        except Exception as exc:
            raise DataError(f"cannot read parquet corpus file {path}: {exc}".splitlines()[0]) from None
        names = set(parquet.schema_arrow.names)
        missing = {"id", "text"} - names
        if missing:
            raise DataError(f"corpus file {path} lacks column(s) {', '.join(sorted(missing))} (need id, title, text)")
        columns = [name for name in ("id", "title", "text", "url") if name in names]
        row = 0
        for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=columns):
            for record in batch.to_pylist():
                row += 1
                yield f"{path}:row {row}", record
        return
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{line_no}: not valid JSON ({exc.msg})") from None
            if not isinstance(record, dict):
                raise DataError(f"{path}:{line_no}: expected a JSON object with id, title, text")
            yield f"{path}:{line_no}", record


def iter_documents(
    path: str | Path,
    *,
    headings: bool = False,
    skip_empty: bool = False,
    check_duplicates: bool = True,
) -> Iterator[Document]:
    """Stream the corpus documents, with heading lines removed unless `headings` is True.

    A record without `id` or without text raises DataError naming the file and line (with
    `skip_empty`, documents whose text is empty are skipped instead: full dumps hold a few).
    Duplicate ids raise DataError naming the id. An empty corpus raises DataError.
    """
    seen: set[str] = set()
    count = 0
    for file in corpus_files(path):
        for where, record in _records(file):
            doc_id = record.get("id")
            if doc_id is None or str(doc_id) == "":
                raise DataError(f"{where}: document has no id")
            doc_id = str(doc_id)
            raw = record.get("text")
            if raw is not None and not isinstance(raw, str):
                raise DataError(f"{where}: text of document {doc_id!r} is not a string")
            text = (raw or "") if headings else strip_headings(raw or "")
            if not text.strip():
                if skip_empty:
                    continue
                raise DataError(f"{where}: document {doc_id!r} has no text (fix it or pass --skip-empty)")
            if check_duplicates:
                if doc_id in seen:
                    raise DataError(f"{where}: duplicate document id {doc_id!r}; document ids must be unique")
                seen.add(doc_id)
            count += 1
            yield Document(
                id=doc_id,
                title=str(record.get("title") or ""),
                text=text,
                url=str(record.get("url") or ""),
            )
    if count == 0:
        raise DataError(f"corpus {path} holds no documents")


def passages_of(document: Document, chunking: Chunking) -> list[Passage]:
    if chunking.mode == "ravenea":
        texts = [ravenea_doc_text(document.text)]
    elif chunking.mode == "document":
        texts = [document.text]
    else:
        texts = chunk_words(document.text, chunking.words, chunking.overlap)
    return [
        Passage(doc_id=document.id, title=document.title, text=text, url=document.url, chunk=number)
        for number, text in enumerate(texts)
    ]


def iter_passages(
    path: str | Path, chunking: Chunking | None = None, *, skip_empty: bool = False
) -> Iterator[Passage]:
    """Stream the corpus as passages, in corpus order."""
    chunking = chunking or Chunking()
    for document in iter_documents(path, skip_empty=skip_empty):
        yield from passages_of(document, chunking)
