"""Finding and streaming benchmark data: local parquet/JSONL files or folders, or a Hugging Face hub id."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from vlmcult.errors import DataError


def looks_like_hub_id(source: str) -> bool:
    return "/" in source and not os.path.exists(source) and not source.startswith((".", "/", "~"))


def download_hub_dataset(repo_id: str, allow_patterns: Sequence[str] | None = None) -> Path:
    """Snapshot a hub dataset repo (only when the network allows); offline is one clear line."""
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(repo_id, repo_type="dataset", allow_patterns=list(allow_patterns or ["*"])))
    except Exception as exc:  # offline, gated, missing: all end the same way for the user
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(
            f"cannot fetch the hub dataset {repo_id!r} ({reason[:160]}); download it elsewhere and pass --data PATH"
        ) from None


def resolve_files(source: str | Path | None, suffixes: Sequence[str], hub_patterns: Sequence[str] | None = None,
                  what: str = "data") -> list[Path]:
    """A file, a folder (searched recursively) or a hub id -> the sorted data files."""
    if source is None:
        raise DataError(f"no {what} given: pass --data PATH")
    text = str(source)
    if looks_like_hub_id(text):
        path = download_hub_dataset(text, hub_patterns)
    else:
        path = Path(text).expanduser()
        if not path.exists():
            raise DataError(f"data path not found: {path}")
    if path.is_file():
        if not path.name.endswith(tuple(suffixes)):
            raise DataError(f"{path} is not a {' or '.join(suffixes)} file")
        return [path]
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(tuple(suffixes)))
    if not files:
        raise DataError(f"no {' or '.join(suffixes)} files under {path}")
    return files


def check_columns(path: Path, present: Sequence[str], required: Sequence[str]) -> None:
    missing = [name for name in required if name not in present]
    if missing:
        raise DataError(f"{path} lacks the required column {missing[0]!r} (has: {', '.join(present)})")


def parquet_row_count(files: Sequence[Path]) -> int:
    import pyarrow.parquet as pq

    total = 0
    for path in files:
        try:
            total += pq.ParquetFile(path).metadata.num_rows
        except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ... for a damaged file
            raise DataError(f"{path} is not a readable parquet file ({type(exc).__name__})") from None
    return total


def iter_parquet_rows(files: Sequence[Path], required: Sequence[str], batch_rows: int = 32) -> Iterator[dict[str, Any]]:
    """Stream rows as dicts, a few at a time, so a 5 GB dataset never sits in memory."""
    import pyarrow.parquet as pq

    for path in files:
        try:
            parquet = pq.ParquetFile(path)
        except Exception as exc:
            raise DataError(f"{path} is not a readable parquet file ({type(exc).__name__})") from None
        check_columns(path, parquet.schema_arrow.names, required)
        for batch in parquet.iter_batches(batch_size=batch_rows):
            yield from batch.to_pylist()


def iter_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Rows of a JSONL file; a malformed line is a DataError naming its line number."""
    if not path.is_file():
        raise DataError(f"file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DataError(f"{path} is not UTF-8") from None
    yield from parse_jsonl(text, path)


def parse_jsonl(text: str, path: Path) -> Iterator[dict[str, Any]]:
    """JSON objects, one per non-blank line of `text` (read from `path`, named in errors)."""
    for _number, row in numbered_jsonl(text, path):
        yield row


def numbered_jsonl(text: str, path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, JSON object) for each non-blank line of `text`; a bad line is a DataError naming it."""
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            raise DataError(f"{path}: line {number} is not valid JSON") from None
        if not isinstance(row, dict):
            raise DataError(f"{path}: line {number} is not a JSON object")
        yield number, row
