"""Corpus streaming, heading removal, chunking and RAVENEA's document cut."""

from __future__ import annotations

import gzip
import json

import pytest

from vlmcult.errors import ConfigError, DataError
from vlmcult.retrieval.corpus import (
    Chunking,
    chunk_words,
    iter_documents,
    iter_passages,
    ravenea_doc_text,
    strip_headings,
)


def test_strip_headings_as_ravenea():
    text = "# Title\nIntro line.\n## History\nOld text.\n#not-a-heading stays\n  ### indented stays\n"
    assert strip_headings(text) == "Intro line.\n\nOld text.\n#not-a-heading stays\n  ### indented stays"


def test_ravenea_doc_text_cut_goldens():
    assert ravenea_doc_text("## Head\nFirst sentence here. Second one. Third") == "First sentence here. Second one."
    assert ravenea_doc_text("No sentence break at all") == "No sentence break at all."
    # the cut keeps everything before the last ". ", so a text ending in "." loses its last sentence
    assert ravenea_doc_text("One. Two.") == "One."
    words = [f"w{i}" for i in range(300)]
    words[99] = "end."
    words[299] = "late."
    assert ravenea_doc_text(" ".join(words)) == " ".join(words[:99]) + " end."
    assert ravenea_doc_text("a.  b\n\nc. d") == "a. b c."


def test_chunk_words_windows():
    words = " ".join(f"w{i}" for i in range(10))
    assert chunk_words(words, 4, 1) == ["w0 w1 w2 w3", "w3 w4 w5 w6", "w6 w7 w8 w9"]
    assert chunk_words(words, 4, 0) == ["w0 w1 w2 w3", "w4 w5 w6 w7", "w8 w9"]
    assert chunk_words("a b", 4, 1) == ["a b"]
    assert chunk_words("   ", 4, 1) == []
    with pytest.raises(ConfigError, match="overlap"):
        Chunking("words", words=4, overlap=4)
    with pytest.raises(ConfigError, match="unknown chunking"):
        Chunking("sentences")


def test_jsonl_gz_and_passage_modes(tmp_path):
    path = tmp_path / "docs.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write(json.dumps({"id": 7, "title": "T", "text": "# T\nAlpha beta. Gamma delta. Eps", "url": "u"}) + "\n\n")
    [doc] = list(iter_documents(path))
    assert (doc.id, doc.title, doc.text, doc.url) == ("7", "T", "Alpha beta. Gamma delta. Eps", "u")
    assert [p.text for p in iter_passages(path, Chunking("ravenea"))] == ["Alpha beta. Gamma delta."]
    assert [p.text for p in iter_passages(path, Chunking("document"))] == ["Alpha beta. Gamma delta. Eps"]
    assert [(p.chunk, p.text) for p in iter_passages(path, Chunking("words", 3, 1))] == [
        (0, "Alpha beta. Gamma"), (1, "Gamma delta. Eps")]


def test_bad_records_name_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "a", "text": "x"}\nnot json\n')
    with pytest.raises(DataError, match="bad.jsonl:2: not valid JSON"):
        list(iter_documents(path))
    path.write_text('{"title": "no id", "text": "x"}\n')
    with pytest.raises(DataError, match="bad.jsonl:1: document has no id"):
        list(iter_documents(path))
    path.write_text('{"id": "h", "text": "## Only a heading"}\n')
    with pytest.raises(DataError, match="document 'h' has no text"):
        list(iter_documents(path))
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(DataError, match="is not .jsonl"):
        list(iter_documents(tmp_path / "notes.txt"))
    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    with pytest.raises(DataError, match="holds no .jsonl or .parquet"):
        list(iter_documents(empty_dir))


def test_parquet_without_text_column(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"id": ["1"], "title": ["t"]}), tmp_path / "x.parquet")
    with pytest.raises(DataError, match="lacks column\\(s\\) text"):
        list(iter_documents(tmp_path / "x.parquet"))
