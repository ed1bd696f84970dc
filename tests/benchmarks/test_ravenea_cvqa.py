import json

import pytest

import vlmcult
from vlmcult.benchmarks.ravenea import (
    RaveneaCVQA,
    extract_letter,
    gold_letter,
    resolve_image,
)
from vlmcult.errors import ConfigError, DataError
from vlmcult.testing.fixtures import write_ravenea_release


@pytest.mark.parametrize(
    ("prediction", "letter"),
    [
        ("Reasoning...\nAnswer: C", "C"), ("Answer:B) Gele", "B"), ("B) Gele", "B"), (" D ", "D"),
        ("answer: c", None), ("The answer is B", None), ("b", "b"), ("", None), ("Gele", None),
    ],
)
def test_official_is_match_letter_extraction(prediction, letter):
    # v2 is_match is case-sensitive; a lone character is taken as is (and then fails to match "B")
    assert extract_letter(prediction) == letter


def test_gold_letter():
    assert gold_letter("A") == "A" and gold_letter("B) Gele") == "B" and gold_letter("C text") == "C"


def test_image_paths_stay_inside_the_release(tmp_path):
    root = write_ravenea_release(tmp_path / "ravenea")
    assert resolve_image(root, "./ravenea/images/cvqa_1_Nigeria_1.jpg") == (root / "images" / "cvqa_1_Nigeria_1.jpg").resolve()
    with pytest.raises(DataError, match="outside the release folder"):
        resolve_image(root, "./ravenea/../../etc/passwd")


def test_samples_prompt_and_oracle(tmp_path):
    root = write_ravenea_release(tmp_path / "ravenea")
    bench = RaveneaCVQA(source=root)
    samples = list(bench.load())
    assert len(samples) == 9  # one image has two questions
    assert samples[1].id == "./ravenea/images/cvqa_2_Nigeria_2.jpg_0" and samples[2].id.endswith("_1")
    prompt = bench.build_requests(samples[0], None)[0].text
    assert prompt == (
        "Answer the following multiple choice question for the image. The last line must be of the following "
        "format: 'Answer: $LETTER' (without quotes) where LETTER must be one of A, B, C, or D.\n\n"
        "Question: What is this dish?\n\nA. Jollof rice\nB. Paella\nC. Pilaf\nD. Risotto")
    oracle = RaveneaCVQA(source=root, variant={"rag": "oracle"})
    text = oracle.build_requests(samples[0], None)[0].text
    # the highest-graded candidate, headings stripped, cut at the last sentence end
    assert ("D.{0}\n\nQuestion" not in text) and (
        " Use the shared culture between the image and the following document to answer the question.\n\n"
        "Document:\nJollof rice is a rice dish from West Africa. It is cooked in a tomato and pepper sauce. "
        "It is popular in Nigeria and Ghana.\n\nQuestion: What is this dish?") in text
    assert oracle.record_extra(samples[0], []) == {"retrieved": [{"doc_id": "enwiki/1001", "score": None}]}
    with pytest.raises(ConfigError, match="--index"):
        RaveneaCVQA(source=root, variant={"rag": "on"})


class Letters:
    spec = "letters"

    def __init__(self, letter):
        self.letter = letter

    def generate(self, requests):
        return [f"Thinking.\nAnswer: {self.letter}" for _ in requests]


def test_accuracy_per_country_and_compare(tmp_path):
    root = write_ravenea_release(tmp_path / "ravenea")
    a = vlmcult.evaluate("ravenea-cvqa", Letters("A"), data=root, out=tmp_path / "a", progress=False)
    # gold A: Nigeria q1, India q2, Mexico q2 -> 3 of 9
    assert a["metrics"]["accuracy"]["value"] == pytest.approx(3 / 9)
    assert a["groups"]["country"]["Nigeria"]["accuracy"]["value"] == pytest.approx(1 / 3)
    b = vlmcult.evaluate("ravenea-cvqa", Letters("B"), data=root, out=tmp_path / "b", progress=False,
                         variant={"rag": "oracle"})
    assert b["metrics"]["accuracy"]["value"] == pytest.approx(3 / 9)  # gold B: Nigeria 2 q0, India 1, China
    records = [json.loads(line) for line in open(tmp_path / "b" / "predictions.jsonl")]
    assert records[0]["retrieved"][0]["doc_id"] == "enwiki/1001"
    comparison = vlmcult.compare(tmp_path / "a", tmp_path / "b")
    assert comparison["groups"]["country"]["Nigeria"]["diff"] == pytest.approx(0.0)
    assert comparison["groups"]["country"]["India"]["diff"] == pytest.approx(0.0)
    assert comparison["groups"]["country"]["Mexico"]["diff"] == pytest.approx(-1 / 2)


def test_clip_scorer_answers_are_parsed_as_letters(tmp_path, tiny_models):
    root = write_ravenea_release(tmp_path / "ravenea")
    results = vlmcult.evaluate("ravenea-cvqa", f"openclip:local-dir:{tiny_models['clip']}", data=root,
                               out=tmp_path / "clip", progress=False)
    records = [json.loads(line) for line in open(tmp_path / "clip" / "predictions.jsonl")]
    assert {r["parsed"] for r in records} <= {"A", "B", "C", "D"}
    assert results["metrics"]["accuracy"]["value"] == pytest.approx(
        sum(r["parsed"] == r["target"] for r in records) / len(records))
