"""Run-directory files: append-only JSONL fsynced per batch, atomic JSON writes."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from vlmcult.datasource import numbered_jsonl
from vlmcult.errors import DataError


def _file_mode() -> int:
    """The mode a plain open() would give a new file (mkstemp's files are owner-only)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


_FILE_MODE = _file_mode()


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temp file in the same folder + rename, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, _FILE_MODE)
        os.replace(tmp_name, path)
    except BaseException:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
        raise


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False, default=_json_default) + "\n")


def _json_default(value: Any) -> Any:
    # numpy scalars and arrays, Paths
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


class JsonlAppender:
    """Append records to a JSONL file; each `append_batch` is flushed and fsynced before returning."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        repair_truncated_tail(path)
        self._handle = open(path, "a", encoding="utf-8")

    def append_batch(self, records: Iterable[dict[str, Any]]) -> None:
        lines = [json.dumps(record, ensure_ascii=False, default=_json_default) + "\n" for record in records]
        if not lines:
            return
        self._handle.write("".join(lines))
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> JsonlAppender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def repair_truncated_tail(path: Path) -> None:
    """Drop a last line left half-written by a killed process (no trailing newline)."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with open(path, "rb+") as handle:
        handle.seek(-1, os.SEEK_END)
        if handle.read(1) == b"\n":
            return
        handle.seek(0)
        data = handle.read()
        handle.truncate(data.rfind(b"\n") + 1)


def read_jsonl_records(path: Path) -> list[dict[str, Any]]:
    """Read a run's own JSONL file; a half-written last line (killed run) is ignored."""
    if not path.exists():
        return []
    records = []
    with open(path, "rb") as handle:
        data = handle.read()
    lines = data.split(b"\n")
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            records.append(json.loads(raw.decode("utf-8")))
        except (UnicodeDecodeError, json.JSONDecodeError):
            if number == len(lines):  # truncated tail of a killed run
                break
            raise DataError(f"{path}: line {number} is not valid JSON") from None
    return records


def read_predictions_file(path: Path) -> dict[str, Any]:
    """Predictions made elsewhere: JSONL lines with `id` and `output`. Returns id -> output."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"predictions file not found: {path}")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path} is not UTF-8 (byte {exc.start}); re-save it as UTF-8") from None
    outputs: dict[str, Any] = {}
    for number, record in numbered_jsonl(text, path):
        if "id" not in record or "output" not in record:
            raise DataError(f"{path}: line {number} needs the keys 'id' and 'output'")
        sample_id = str(record["id"])
        if sample_id in outputs:
            raise DataError(f"{path}: id {sample_id!r} appears more than once (line {number})")
        outputs[sample_id] = record["output"]
    if not outputs:
        raise DataError(f"{path} holds no predictions")
    return outputs
