"""Index build/load/search with a small deterministic fake embedder (no model weights)."""

from __future__ import annotations

import json
import zlib

import numpy as np
import pytest

from vlmcult.errors import ConfigError, DataError, IndexMismatch
from vlmcult.retrieval.corpus import Chunking
from vlmcult.retrieval.index import (
    assemble_index,
    build_index,
    default_factory,
    embed_shards,
    load_index,
    read_meta,
)


class HashingEmbedder:
    """Bag of words hashed into `dim` buckets, L2-normalised: same words -> same vector."""

    def __init__(self, dim: int = 64, model_id: str = "fake:hashing-64") -> None:
        self.dim, self.id, self.text_calls = dim, model_id, 0

    def embed_texts(self, texts):
        self.text_calls += 1
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                out[row, zlib.crc32(word.strip(".,").encode()) % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)

    def embed_images(self, images):
        raise NotImplementedError


WORDS = ("rice drum silk temple dance lantern kite tea bread mask boat clay bronze wool festival "
         "noodle spice river mountain market").split()


def write_corpus(path, n=300, seed=0):
    rng = np.random.default_rng(seed)
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            words = " ".join(rng.choice(WORDS, size=12))
            f.write(json.dumps({"id": f"d{i}", "title": f"Doc {i}", "text": f"{words}.", "url": f"u{i}"}) + "\n")
    return path


@pytest.fixture()
def corpus(tmp_path):
    return write_corpus(tmp_path / "corpus.jsonl")


def brute_force(embedder, corpus_texts, query, k):
    vectors = embedder.embed_texts(corpus_texts)
    scores = vectors @ embedder.embed_texts([query])[0]
    order = np.argsort(-scores, kind="stable")[:k]
    return order, scores[order]


def test_build_load_round_trip_identical_and_exact(corpus, tmp_path):
    embedder = HashingEmbedder()
    out = build_index(corpus, embedder, tmp_path / "idx", progress=False)
    meta = read_meta(out)
    assert meta["factory"] == "Flat" and meta["count"] == 300 and meta["dim"] == 64 and meta["metric"] == "ip"
    assert meta["encoder"] == {"id": "fake:hashing-64", "spec": None}  # an object without .spec
    assert meta["chunking"] == {"mode": "words", "words": 200, "overlap": 40}
    assert len(meta["corpus_fingerprint"]) == 64 and meta["normalized"] is True
    assert {p.name for p in out.iterdir()} == {"index.faiss", "meta.json", "docs.parquet"}

    queries = ["silk dance festival", "bronze drum temple", "tea bread"]
    first = load_index(out, encoder=embedder).search(texts=queries, k=10)
    second = load_index(out, encoder=embedder).search(texts=queries, k=10)
    assert [[(h.doc_id, h.score) for h in hits] for hits in first] == [[(h.doc_id, h.score) for h in hits] for hits in second]

    texts = [json.loads(line)["text"] for line in corpus.read_text().splitlines()]
    _order, scores = brute_force(embedder, texts, queries[0], 10)
    np.testing.assert_allclose([h.score for h in first[0]], scores, atol=1e-5)
    hit = first[0][0]
    assert hit.title == f"Doc {hit.row}" and hit.url == f"u{hit.row}" and hit.doc_id == f"d{hit.row}"


def test_ivf_with_all_lists_probed_equals_exact(corpus, tmp_path):
    embedder = HashingEmbedder()
    flat = load_index(build_index(corpus, embedder, tmp_path / "flat", progress=False), encoder=embedder)
    ivf_dir = build_index(corpus, embedder, tmp_path / "ivf", "IVF4,Flat", search_params={"nprobe": 4}, progress=False)
    assert read_meta(ivf_dir)["factory"] == "IVF4,Flat" and read_meta(ivf_dir)["search_params"] == {"nprobe": 4}
    ivf = load_index(ivf_dir, encoder=embedder)
    queries = ["rice noodle spice", "mask dance", "river boat market"]
    for a, b in zip(flat.search(texts=queries, k=5), ivf.search(texts=queries, k=5)):
        np.testing.assert_allclose([h.score for h in a], [h.score for h in b], atol=1e-5)


def test_refuses_mismatched_encoder_dimension_and_metric(corpus, tmp_path):
    out = build_index(corpus, HashingEmbedder(), tmp_path / "idx", progress=False)
    with pytest.raises(IndexMismatch, match="built with encoder fake:hashing-64"):
        load_index(out, encoder=HashingEmbedder(model_id="fake:other"))
    with pytest.raises(IndexMismatch, match="dimension 64"):
        load_index(out, encoder=HashingEmbedder(dim=32, model_id="fake:hashing-64"))
    with pytest.raises(IndexMismatch, match="metric 'ip'"):
        load_index(out, metric="l2")
    index = load_index(out, encoder=HashingEmbedder())
    with pytest.raises(IndexMismatch, match="dimension 8"):
        index.search(vectors=np.ones((1, 8), dtype=np.float32), k=1)


def test_truncated_or_corrupt_index_file_is_one_clear_error(corpus, tmp_path):
    out = build_index(corpus, HashingEmbedder(), tmp_path / "idx", progress=False)
    data = (out / "index.faiss").read_bytes()
    (out / "index.faiss").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="truncated"):
        load_index(out)
    (out / "index.faiss").write_bytes(b"\0" * len(data))
    with pytest.raises(DataError, match="unreadable or truncated"):
        load_index(out)
    (out / "meta.json").unlink()
    with pytest.raises(DataError, match="not a vlmcult index"):
        load_index(out)
    with pytest.raises(DataError, match="not found"):
        load_index(tmp_path / "nowhere")


def test_k_larger_than_index_and_bad_queries(tmp_path):
    corpus = write_corpus(tmp_path / "small.jsonl", n=5)
    index = load_index(build_index(corpus, HashingEmbedder(), tmp_path / "idx", progress=False), encoder=HashingEmbedder())
    with pytest.raises(DataError, match="k=6 is larger than the index \\(5 vectors\\)"):
        index.search(texts=["rice"], k=6)
    assert len(index.search(texts=["rice"], k=5)[0]) == 5
    with pytest.raises(ConfigError, match="exactly one"):
        index.search(k=1)


def test_bad_corpora_are_refused(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(DataError, match="holds no documents"):
        build_index(empty, HashingEmbedder(), tmp_path / "a", progress=False)
    dup = tmp_path / "dup.jsonl"
    dup.write_text('{"id": "x1", "title": "A", "text": "rice"}\n{"id": "x1", "title": "B", "text": "tea"}\n')
    with pytest.raises(DataError, match="duplicate document id 'x1'"):
        build_index(dup, HashingEmbedder(), tmp_path / "b", progress=False)
    notext = tmp_path / "notext.jsonl"
    notext.write_text('{"id": "x1", "title": "A", "text": "rice"}\n{"id": "x2", "title": "B", "text": "  "}\n')
    with pytest.raises(DataError, match="notext.jsonl:2: document 'x2' has no text"):
        build_index(notext, HashingEmbedder(), tmp_path / "c", progress=False)
    out = build_index(notext, HashingEmbedder(), tmp_path / "d", skip_empty=True, progress=False)
    assert read_meta(out)["count"] == 1
    with pytest.raises(DataError, match="corpus not found"):
        build_index(tmp_path / "missing.jsonl", HashingEmbedder(), tmp_path / "e", progress=False)
    with pytest.raises(ConfigError, match="cannot make an index"):
        build_index(notext, HashingEmbedder(), tmp_path / "f", "IVFnope", skip_empty=True, progress=False)
    with pytest.raises(ConfigError, match="already holds an index"):
        build_index(notext, HashingEmbedder(), tmp_path / "d", skip_empty=True, progress=False)


def test_parquet_wikipedia_layout_chunking_and_unique_docs(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path / "20231101.en"
    folder.mkdir()
    long_text = " ".join(f"w{i}" for i in range(25))
    for shard, ids in enumerate((["1", "2"], ["3"])):
        pq.write_table(pa.table({"id": ids, "url": [f"https://en.wikipedia.org/?curid={i}" for i in ids],
                                 "title": [f"T{i}" for i in ids], "text": [f"## Section\n{long_text} doc{i}" for i in ids]}),
                       folder / f"train-0000{shard}-of-00002.parquet")
    embedder = HashingEmbedder()
    out = build_index(folder, embedder, tmp_path / "idx", chunking=Chunking("words", words=10, overlap=2), progress=False)
    index = load_index(out, encoder=embedder)
    # 26 words per doc, windows of 10 with step 8 -> 3 passages each; heading line removed
    assert len(index) == 9
    rows = list(index.docs.iter_rows())
    assert [r["chunk"] for r in rows[:3]] == [0, 1, 2] and rows[0]["text"].startswith("w0 w1")
    assert rows[2]["text"] == " ".join(f"w{i}" for i in range(16, 25)) + " doc1"
    hits = index.search(texts=["w3 w4 doc2"], k=3, unique_docs=True)[0]
    assert sorted(h.doc_id for h in hits) == ["1", "2", "3"]


def test_resume_after_crash_reuses_finished_shards(corpus, tmp_path):
    class Crashing(HashingEmbedder):
        def embed_texts(self, texts):
            if self.text_calls >= 2:
                raise RuntimeError("GPU fell over")
            return super().embed_texts(texts)

    with pytest.raises(RuntimeError):
        build_index(corpus, Crashing(), tmp_path / "idx", shard_size=100, batch_size=100, progress=False)
    assert sorted(p.name for p in (tmp_path / "idx" / "shards").glob("docs-*")) == ["docs-000000.parquet", "docs-000001.parquet"]
    resumed = HashingEmbedder()
    out = build_index(corpus, resumed, tmp_path / "idx", shard_size=100, batch_size=100, resume=True, progress=False)
    assert resumed.text_calls == 1  # only the third shard was embedded again
    fresh = build_index(corpus, HashingEmbedder(), tmp_path / "fresh", shard_size=100, progress=False)
    assert read_meta(out)["corpus_fingerprint"] == read_meta(fresh)["corpus_fingerprint"]
    a = load_index(out, encoder=HashingEmbedder()).search(texts=["tea bread kite"], k=10)
    b = load_index(fresh, encoder=HashingEmbedder()).search(texts=["tea bread kite"], k=10)
    assert [(h.row, h.score) for h in a[0]] == [(h.row, h.score) for h in b[0]]


def test_two_workers_share_the_shards(corpus, tmp_path):
    work = tmp_path / "work"
    embedders = [HashingEmbedder(), HashingEmbedder()]
    for worker, embedder in enumerate(embedders):
        embed_shards(corpus, embedder, work, shard_size=50, batch_size=50, worker=worker, workers=2, progress=False)
    assert [e.text_calls for e in embedders] == [3, 3]
    out = assemble_index(work, tmp_path / "idx")
    assert read_meta(out)["count"] == 300 and not work.exists()


def test_default_factory_by_size_and_memory():
    assert default_factory(99_999, 384) == ("Flat", {})
    assert default_factory(200_000, 512, memory_bytes=64 << 30) == ("IVF512,Flat", {"nprobe": 4})
    assert default_factory(1_000_000, 512, memory_bytes=64 << 30) == ("IVF1024,Flat", {"nprobe": 8})
    # 30M x 384 float32 = 46 GB > half of 32 GB: product quantisation, 48 bytes per vector
    assert default_factory(30_000_000, 384, memory_bytes=32 << 30) == ("IVF4096,PQ48", {"nprobe": 32})


def test_cli_build_and_search(tmp_path, corpus):
    from typer.testing import CliRunner

    from vlmcult.retrieval.cli import index_app

    runner = CliRunner()
    result = runner.invoke(index_app, ["search", str(tmp_path / "none"), "--text", "x"])
    assert isinstance(result.exception, DataError)
    out = build_index(corpus, HashingEmbedder(), tmp_path / "idx", progress=False)
    result = runner.invoke(index_app, ["search", str(out)])
    assert isinstance(result.exception, ConfigError)
    # the index was built from an embedder object: searching by text needs the encoder spec
    result = runner.invoke(index_app, ["search", str(out), "--text", "rice"])
    assert isinstance(result.exception, ConfigError) and "encoder" in str(result.exception)


def test_gpu_code_path_wiring_with_faiss_gpu_simulated(monkeypatch, corpus, tmp_path):
    """No GPU here: faiss's CPU<->GPU copies are replaced by clones to check the wiring, not faiss-gpu itself."""
    import faiss

    embedder = HashingEmbedder()
    cpu = load_index(build_index(corpus, embedder, tmp_path / "cpu", "IVF4,Flat", search_params={"nprobe": 4},
                                 progress=False), encoder=embedder, gpu=False)
    calls = []

    def fake_copy(name):
        def copy(index, *args, **kwargs):
            calls.append(name)
            return faiss.clone_index(index)
        return copy

    monkeypatch.setattr(faiss, "get_num_gpus", lambda: 1)
    monkeypatch.setattr(faiss, "index_cpu_to_all_gpus", fake_copy("to_gpu"))
    monkeypatch.setattr(faiss, "index_gpu_to_cpu", fake_copy("to_cpu"), raising=False)  # faiss-gpu only
    out = build_index(corpus, embedder, tmp_path / "gpu", "IVF4,Flat", search_params={"nprobe": 4}, progress=False)
    assert calls == ["to_gpu", "to_gpu", "to_cpu"]  # k-means quantizer, the index for adding, back for writing
    gpu = load_index(out, encoder=embedder)
    assert calls[-1] == "to_gpu"
    queries = ["silk dance festival", "clay bronze"]
    assert [[(h.row, round(h.score, 5)) for h in hits] for hits in gpu.search(texts=queries, k=5)] == \
        [[(h.row, round(h.score, 5)) for h in hits] for hits in cpu.search(texts=queries, k=5)]


def test_bad_corpus_fails_before_the_encoder_loads_or_anything_is_deleted(monkeypatch, corpus, tmp_path):
    from vlmcult.retrieval import encode

    out = build_index(corpus, HashingEmbedder(), tmp_path / "idx", progress=False)
    before = read_meta(out)

    def no_load(*args, **kwargs):
        raise AssertionError("the encoder was loaded before the corpus was checked")

    monkeypatch.setattr(encode, "load_embedder", no_load)
    with pytest.raises(DataError, match="corpus not found"):
        build_index(tmp_path / "missing.jsonl", "sbert:minilm", out, overwrite=True, progress=False)
    bad_first = tmp_path / "bad.jsonl"
    bad_first.write_text('{"title": "no id", "text": "rice"}\n')
    with pytest.raises(DataError, match="bad.jsonl:1: document has no id"):
        build_index(bad_first, "sbert:minilm", out, overwrite=True, progress=False)
    assert read_meta(out) == before  # --overwrite deleted nothing


@pytest.mark.skipif(not hasattr(__import__("os"), "geteuid") or __import__("os").geteuid() == 0,
                    reason="root reads files whatever their mode")
def test_unreadable_corpus_file_is_one_line(corpus, tmp_path):
    corpus.chmod(0)
    try:
        with pytest.raises(DataError, match="cannot read corpus file"):
            build_index(corpus, HashingEmbedder(), tmp_path / "idx", progress=False)
    finally:
        corpus.chmod(0o644)


def test_progress_bar_line_is_ended_before_an_error(tmp_path, capsys):
    notext = tmp_path / "notext.jsonl"
    notext.write_text('{"id": "x1", "title": "A", "text": "rice"}\n{"id": "x2", "title": "B", "text": ""}\n')
    with pytest.raises(DataError, match="document 'x2' has no text"):
        build_index(notext, HashingEmbedder(), tmp_path / "idx", progress=True)
    err = capsys.readouterr().err
    assert "embedding" in err and err.endswith("\n")  # the bar is closed: the CLI's error starts a new line
