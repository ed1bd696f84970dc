import csv

import pytest

import vlmcult
from vlmcult.benchmarks.culturalvqa import CulturalVQA, normalise_answer
from vlmcult.errors import DataError
from vlmcult.testing.fixtures import write_culturalvqa_labels, write_culturalvqa_parquet


def test_normalise_answer():
    assert normalise_answer("The Jollof-Rice!") == "jollof rice"
    assert normalise_answer("  an  Ayran. ") == "ayran"


class Answers:
    spec = "answers"

    def __init__(self, mapping):
        self.mapping = mapping

    def generate(self, requests):
        return [next((v for k, v in self.mapping.items() if k in r.text), "no idea") for r in requests]


def test_hidden_answers_write_submission_keyed_by_u_id(tmp_path):
    data = write_culturalvqa_parquet(tmp_path / "test-00000-of-00001.parquet")
    bench = CulturalVQA(source=tmp_path)
    sample = next(iter(bench.load()))
    assert bench.build_requests(sample, None)[0].text == (
        "What is the name of this spicy rice dish?\nAnswer the question using a single word or phrase.")
    results = vlmcult.evaluate("culturalvqa", Answers({"spicy rice": "Jollof"}), data=data, out=tmp_path / "run",
                               progress=False)
    assert results["n_scored"] == 0
    rows = list(csv.DictReader(open(tmp_path / "run" / "submission.csv")))
    assert rows[0] == {"u_id": "cvqa_0000", "answer": "Jollof"} and len(rows) == 8


def test_exact_match_with_labels_per_country(tmp_path):
    data = write_culturalvqa_parquet(tmp_path / "cvqa.parquet")
    labels = write_culturalvqa_labels(tmp_path / "labels.jsonl")
    model = Answers({"spicy rice": "Jollof rice.", "head tie": "A gele", "spiced tea": "Masala Chai",
                     "yoghurt": "kefir", "fortune": "Yes"})
    results = vlmcult.evaluate("culturalvqa", model, data=data, labels=labels, out=tmp_path / "run", progress=False)
    assert results["metrics"]["exact_match"]["value"] == pytest.approx(4 / 8)
    assert results["groups"]["country"]["Nigeria"]["exact_match"]["value"] == 1.0
    assert results["groups"]["country"]["Turkey"]["exact_match"]["value"] == 0.5
    assert results["groups"]["facet"]["drinks"]["exact_match"]["value"] == 0.5
    assert results["metrics"]["lave"]["value"] is None  # no judge given


def test_bad_labels_file(tmp_path):
    data = write_culturalvqa_parquet(tmp_path / "cvqa.parquet")
    (tmp_path / "labels.jsonl").write_text('{"u_id": "x"}\n')
    with pytest.raises(DataError, match="'answers' list"):
        CulturalVQA(source=data, labels=tmp_path / "labels.jsonl")
