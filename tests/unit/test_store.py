import json

import pytest

from vlmcult.errors import DataError
from vlmcult.store import (
    JsonlAppender,
    atomic_write_json,
    read_jsonl_records,
    read_predictions_file,
)


def test_appender_repairs_a_half_written_tail(tmp_path):
    path = tmp_path / "predictions.jsonl"
    path.write_text('{"id": "a"}\n{"id": "b", "out', encoding="utf-8")
    assert [r["id"] for r in read_jsonl_records(path)] == ["a"]
    with JsonlAppender(path) as appender:
        appender.append_batch([{"id": "b"}, {"id": "c"}])
    assert [r["id"] for r in read_jsonl_records(path)] == ["a", "b", "c"]


def test_atomic_json_leaves_no_temp_files_and_honours_the_umask(tmp_path):
    import os
    import stat

    atomic_write_json(tmp_path / "results.json", {"x": 1})
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((tmp_path / "results.json").stat().st_mode) == 0o666 & ~umask
    assert json.loads((tmp_path / "results.json").read_text()) == {"x": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"id": "a", "output": "A"}\n{"id": "a", "output": "B"}\n', "more than once"),
        (b'{"id": "a", "output": "\xff"}\n', "not UTF-8"),
        (b'{"id": "a"}\n', "needs the keys"),
        (b"not json\n", "line 1 is not valid JSON"),
        (b"", "holds no predictions"),
    ],
)
def test_bad_predictions_files(tmp_path, content, message):
    path = tmp_path / "preds.jsonl"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        read_predictions_file(path)
