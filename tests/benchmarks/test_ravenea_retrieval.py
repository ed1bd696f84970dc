"""ravenea-retrieval on a release folder written in the official v2 layout, with a colour-reading fake embedder."""

from __future__ import annotations

import json
from math import log2

import numpy as np
import pytest

from vlmcult.errors import ConfigError, DataError

COLOURS = {"red": (220, 20, 20), "green": (20, 200, 20), "blue": (20, 20, 220), "yellow": (230, 230, 20)}
NAMES = list(COLOURS)


class ColourEmbedder:
    """Images -> one-hot of their colour; texts -> counts of colour words (+ a small constant), L2-normalised."""

    id, dim = "fake:colour", 5

    def embed_images(self, images):
        out = np.zeros((len(images), self.dim), dtype=np.float32)
        for row, image in enumerate(images):
            mean = np.asarray(image.convert("RGB"), dtype=np.float32).reshape(-1, 3).mean(axis=0)
            nearest = min(NAMES, key=lambda name: float(np.sum((mean - np.array(COLOURS[name])) ** 2)))
            out[row, NAMES.index(nearest)] = 1.0
        return out

    def embed_texts(self, texts):
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            words = text.lower().replace(".", " ").split()
            out[row, :4] = [words.count(name) for name in NAMES]
            out[row, 4] = 0.1
        return out / np.linalg.norm(out, axis=1, keepdims=True)


DOCS = [
    ("enwiki/1", "Red lanterns", "# Red lanterns\nred red red lantern."),
    ("enwiki/2", "Mixed", "## Colours\nred and green cloth."),
    ("enwiki/3", "Sea", "blue water."),
    ("enwiki/4", "Tea fields", "green green tea."),
    ("enwiki/6", "Rapeseed", "yellow fields."),
    ("enwiki/7", "Heading only", "## Yellow\n"),
]
# (stem, country, colour, candidates, grades); enwiki/5 is not in wiki_documents.jsonl, enwiki/7 has no text
QUERIES = [
    ("cvqa_1_India_1", "India", "red", ["enwiki/1", "enwiki/2", "enwiki/3"], [1, 3, -2]),
    ("cvqa_2_India_2", "India", "green", ["enwiki/2", "enwiki/4", "enwiki/5"], [0, 2, 3]),
    ("cvqa_3_Mexico_1", "Mexico", "blue", ["enwiki/3", "enwiki/1"], [-1, -3]),
    ("ccub_4_Korea_1", "Korea", "yellow", ["enwiki/6", "enwiki/7"], [2, 3]),
]
Q = {stem: f"./ravenea/images/{stem}.jpg" for stem, *_ in QUERIES}


@pytest.fixture()
def release(tmp_path):
    from PIL import Image

    root = tmp_path / "ravenea"
    (root / "images").mkdir(parents=True)
    rows = []
    for stem, country, colour, ids, grades in QUERIES:
        Image.new("RGB", (32, 32), COLOURS[colour]).save(root / "images" / f"{stem}.jpg")
        rows.append({"file_name": Q[stem], "country": country, "category": "Cuisine", "task_type": "cVQA",
                     "enwiki_ids": ids, "culture_relevance": grades})
    lines = "".join(json.dumps(r) + "\n" for r in rows)
    for name in ("metadata.jsonl", "metadata_test.jsonl"):
        (root / name).write_text(lines)
    (root / "wiki_documents.jsonl").write_text("".join(
        json.dumps({"id": d, "title": t, "text": x, "url": "", "date_modified": "2024-01-01"}) + "\n" for d, t, x in DOCS))
    return root


def bench(release, **kwargs):
    from vlmcult.benchmarks.ravenea_retrieval import RaveneaRetrieval

    return RaveneaRetrieval(source=release, **kwargs)


def predict_all(benchmark, model):
    samples = list(benchmark.load())
    requests = [benchmark.build_requests(s, benchmark.decode(s)) for s in samples]
    return samples, benchmark.predict(model, samples, requests)


EXPECTED = {  # per query, by hand from gdeval (see tests/unit/test_retrieval_metrics.py for the formulas)
    Q["cvqa_1_India_1"]: {  # ranking e1, e2, e3 -> grades 1, 3, -2 (shift 4, 6, 1; ideal 6, 4, 1)
        "mrr": 0.5, "p@1": 0.0, "p@3": 1 / 3, "p@5": 1 / 3, "ndcg@1": 15 / 63,
        "ndcg@3": (15 + 63 / log2(3) + 1 / 2) / (63 + 15 / log2(3) + 1 / 2)},
    Q["cvqa_2_India_2"]: {  # enwiki/5 (grade 3) has no document: ranking e4, e2 -> 2, 0; ideal of retrieved = same
        "mrr": 0.0, "p@1": 0.0, "p@3": 0.0, "p@5": 0.0, "ndcg@1": 1.0, "ndcg@3": 1.0},
    Q["cvqa_3_Mexico_1"]: {"mrr": None, "p@1": 0.0, "p@3": 0.0, "p@5": 0.0, "ndcg@1": 1.0, "ndcg@3": 1.0},
    Q["ccub_4_Korea_1"]: {"mrr": 0.0, "p@1": 0.0, "p@3": 0.0, "p@5": 0.0, "ndcg@1": 1.0, "ndcg@3": 1.0},
}


def test_load_predict_parse_score(release):
    benchmark = bench(release)
    samples, outputs = predict_all(benchmark, ColourEmbedder())
    assert [s.id for s in samples] == list(Q.values())
    assert samples[0].target == {"enwiki/1": 1, "enwiki/2": 3, "enwiki/3": -2}
    assert samples[0].groups == {"country": "India"}
    assert samples[0].image == (release / "images" / "cvqa_1_India_1.jpg").resolve()
    ranked = [benchmark.parse(s, o) for s, o in zip(samples, outputs)]
    assert ranked == [["enwiki/1", "enwiki/2", "enwiki/3"], ["enwiki/4", "enwiki/2"], ["enwiki/3", "enwiki/1"], ["enwiki/6"]]
    scores = outputs[0][0]
    assert scores[0][1] == pytest.approx(3 / np.sqrt(9.01)) and scores[2][1] == pytest.approx(0.0)
    for sample, parsed in zip(samples, ranked):
        got = benchmark.score(sample, parsed)
        for name, value in EXPECTED[sample.id].items():
            assert got[name] == (None if value is None else pytest.approx(value)), (sample.id, name)


def test_evaluate_writes_official_trec_run_and_score_reads_it_back(release, tmp_path):
    from vlmcult.runner import evaluate, score

    results = evaluate("ravenea-retrieval", ColourEmbedder(), data=release, out=tmp_path / "run", progress=False,
                       n_resamples=50)
    metrics = {name: entry["value"] for name, entry in results["metrics"].items()}
    assert metrics["mrr"] == pytest.approx(0.5 / 3)  # over the 3 queries with a positive grade
    assert metrics["p@3"] == pytest.approx((1 / 3) / 4)  # over all 4 queries
    assert metrics["ndcg@1"] == pytest.approx((15 / 63 + 3) / 4)
    assert results["groups"]["country"]["India"]["mrr"]["value"] == pytest.approx(0.25)
    assert all(0.0 <= v <= 1.0 for v in metrics.values())

    run = (tmp_path / "run" / "run.trec").read_text().splitlines()
    assert len(run) == 3 + 2 + 2 + 1
    first = run[0].split("\t")
    assert first[:4] == [Q["cvqa_1_India_1"], "Q0", "enwiki/1", "0"] and float(first[4]) == pytest.approx(3 / np.sqrt(9.01))
    assert first[5] == "ColourEmbedder"
    assert run[1].split("\t")[2:4] == ["enwiki/2", "1"]

    rescored = score("ravenea-retrieval", tmp_path / "run" / "run.trec", out=tmp_path / "rescored", data=release,
                     n_resamples=50)
    assert {k: v["value"] for k, v in rescored["metrics"].items()} == pytest.approx(metrics)


def test_read_outputs_sorts_by_rank_and_refuses_bad_lines(release, tmp_path):
    benchmark = bench(release)
    path = tmp_path / "other.run"
    q = Q["cvqa_1_India_1"]
    path.write_text(f"{q} Q0 enwiki/3 2 0.1 bm25\n{q}\tQ0\tenwiki/2\t0\t0.9\tbm25\n{q} Q0 enwiki/1 1.0 0.5 bm25\n\n")
    outputs = benchmark.read_outputs(path)
    assert outputs == {q: [[["enwiki/2", 0.9], ["enwiki/1", 0.5], ["enwiki/3", 0.1]]]}
    assert benchmark.parse(None, outputs[q]) == ["enwiki/2", "enwiki/1", "enwiki/3"]

    path.write_text(f"{q} Q0 enwiki/1 0 0.5 bm25\n{q} Q0 enwiki/2 1 0.4\n")
    with pytest.raises(DataError, match="other.run:2: expected 6 fields"):
        benchmark.read_outputs(path)
    path.write_text(f"{q} Q0 enwiki/1 first 0.5 bm25\n")
    with pytest.raises(DataError, match="other.run:1: rank 'first'"):
        benchmark.read_outputs(path)
    path.write_text(f"{q} Q0 enwiki/1 0 0.5 bm25\n./ravenea/images/nope.jpg Q0 enwiki/1 0 0.5 bm25\n")
    with pytest.raises(DataError, match="other.run:2: query id './ravenea/images/nope.jpg' is not in metadata_test.jsonl"):
        benchmark.read_outputs(path)
    path.write_text("")
    with pytest.raises(DataError, match="holds no lines"):
        benchmark.read_outputs(path)


def test_corpus_mode_searches_the_whole_document_index(release, tmp_path):
    from vlmcult.retrieval.corpus import Chunking
    from vlmcult.retrieval.index import build_index

    embedder = ColourEmbedder()
    index_dir = build_index(release / "wiki_documents.jsonl", embedder, tmp_path / "idx",
                            chunking=Chunking("ravenea"), skip_empty=True, progress=False)
    with pytest.raises(ConfigError, match="needs --index"):
        bench(release, variant={"mode": "corpus"})
    benchmark = bench(release, variant={"mode": "corpus"}, index=index_dir, top_k=3)
    samples, outputs = predict_all(benchmark, embedder)
    ranked = [benchmark.parse(s, o) for s, o in zip(samples, outputs)]
    assert ranked[0][:2] == ["enwiki/1", "enwiki/2"] and len(ranked[0]) == 3  # red: e1 (3 reds), e2 (1 red), a 0-score doc
    assert ranked[1][:2] == ["enwiki/4", "enwiki/2"] and ranked[3][0] == "enwiki/6"
    got = benchmark.score(samples[0], ranked[0])
    assert got["mrr"] == 0.5 and got["p@3"] == pytest.approx(1 / 3)


def test_model_must_be_an_embedder_and_bad_data(release, tmp_path):
    benchmark = bench(release)
    samples = list(benchmark.load())[:1]
    with pytest.raises(ConfigError, match="needs an embedder"):
        benchmark.predict(object(), samples, [benchmark.build_requests(samples[0], benchmark.decode(samples[0]))])
    (release / "metadata_test.jsonl").write_text('{"file_name": "./ravenea/images/x.jpg", "enwiki_ids": ["a"]}\n')
    with pytest.raises(DataError, match="lacks the field 'culture_relevance'"):
        list(bench(release).load())
    (release / "metadata_test.jsonl").write_text(
        '{"file_name": "../../etc/passwd", "enwiki_ids": ["a"], "culture_relevance": [1]}\n')
    with pytest.raises(DataError, match="outside the release folder"):
        list(bench(release).load())
