import csv
import json

import pyarrow.parquet as pq
import pytest

import vlmcult
from vlmcult.benchmarks.cvqa import CVQA, parse_choice, parse_options, parse_subset
from vlmcult.errors import ConfigError, DataError
from vlmcult.testing.fixtures import (
    CVQA_ROWS,
    draw_image,
    png_bytes,
    write_cvqa_labels,
    write_cvqa_parquet,
)

EN = ["Buckingham Palace", "Potala Palace", "Louvre", "Crystal palace"]
LOCAL = ["白金汉宫", "布达拉宫", "卢浮宫", "水晶宫"]


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("B", 1), ("(B)", 1), ("B.", 1), ("B. Potala Palace", 1), ("Answer: B", 1), ("The answer is B", 1),
        ("The answer is (C).", 2), ("Ｂ", 1), ("（Ｂ）", 1), ("**D**", 3), ("Potala Palace", 1), ("potala palace.", 1),
        ("布达拉宫", 1), ("  A\n", 0), ("answer: d", None),
        # not a clear answer: never a guessed letter
        ("A palace in Tibet", None), ("I think it is in Lhasa", None), ("", None), ("E", None), ("Potala", None),
    ],
)
def test_parse_choice(output, expected):
    assert parse_choice(output, [EN, LOCAL]) == expected


def test_parse_subset_and_options_forms():
    assert parse_subset("('Chinese', 'China')") == ("Chinese", "China")
    assert parse_options("['7' '3' '9' '5']") == ["7", "3", "9", "5"]
    assert parse_options(["a", "b"]) == ["a", "b"]
    with pytest.raises(DataError):
        parse_subset("China")


class ScriptedVLM:
    """Answers with the gold letter for even-numbered requests and a wrong one otherwise."""

    spec = "scripted"

    def __init__(self, answers):
        self.answers = answers
        self.calls = 0

    def generate(self, requests):
        outputs = []
        for request in requests:
            outputs.append(self.answers(request))
            self.calls += 1
        return outputs


def gold_answer(request):
    # the fixtures' gold option text is recoverable: answer with that option's letter
    for row in CVQA_ROWS:
        if row[4][row[5]] in request.choices and request.text.startswith(f"Question: {row[3]}"):
            return "ABCD"[request.choices.index(row[4][row[5]])]
    return "unsure"


def test_load_reads_the_official_schema(tmp_path):
    path = write_cvqa_parquet(tmp_path / "test-00000-of-00001.parquet")
    bench = CVQA(source=tmp_path)
    samples = list(bench.load())
    assert len(samples) == len(CVQA_ROWS) == bench.count()
    assert samples[0].groups == {"country": "Japan", "language": "Japanese", "category": "Cooking and food"}
    assert samples[0].target is None  # Label == -1 is hidden, never gold
    requests = bench.build_requests(samples[0], bench.decode(samples[0]))
    assert requests[0].text == (
        "Question: What is this dish called?\nOptions:\nA. Sushi\nB. Tacos\nC. Jollof rice\nD. Pierogi\n"
        "Select the best answer to the above multiple-choice question based on the image. Respond with only "
        "the letter of the correct option (A, B, C, or D).\nThe best answer is: ")
    local = CVQA(source=path, variant={"lang": "local"})
    assert "この料理の名前は何ですか？" in local.build_requests(samples[0], None)[0].text


def test_hidden_labels_give_submission_and_no_score(tmp_path):
    data = write_cvqa_parquet(tmp_path / "cvqa.parquet")
    results = vlmcult.evaluate("cvqa", ScriptedVLM(gold_answer), data=data, out=tmp_path / "run", progress=False)
    assert results["n"] == 12 and results["n_scored"] == 0
    assert results["metrics"]["accuracy"]["value"] is None
    rows = list(csv.DictReader(open(tmp_path / "run" / "submission.csv")))
    assert len(rows) == 12 and rows[0] == {"ID": "1000_0", "Prediction": "0"}
    preds = [json.loads(line) for line in open(tmp_path / "run" / "predictions.jsonl")]
    with open(tmp_path / "preds.jsonl", "w") as handle:
        for p in preds:
            handle.write(json.dumps({"id": p["id"], "output": p["output"]}) + "\n")
    with pytest.raises(DataError, match="labels are hidden.*--labels.*submission.csv"):
        vlmcult.score("cvqa", tmp_path / "preds.jsonl", out=tmp_path / "scored", data=data)


def test_accuracy_with_labels_and_circular(tmp_path):
    data = write_cvqa_parquet(tmp_path / "cvqa.parquet")
    labels = write_cvqa_labels(tmp_path / "labels.csv")
    perfect = vlmcult.evaluate("cvqa", ScriptedVLM(gold_answer), data=data, labels=labels, out=tmp_path / "a",
                               progress=False, variant={"order": "circular"})
    assert perfect["metrics"]["accuracy"]["value"] == 1.0
    assert perfect["groups"]["country"]["Nigeria"]["accuracy"]["n"] == 3

    always_a = vlmcult.evaluate("cvqa", ScriptedVLM(lambda r: "A"), data=data, labels=labels, out=tmp_path / "b",
                                progress=False)
    # gold is A (index 0) for 5 of the 12 fixture questions
    assert always_a["metrics"]["accuracy"]["value"] == pytest.approx(5 / 12)
    circular = vlmcult.evaluate("cvqa", ScriptedVLM(lambda r: "A"), data=data, labels=labels, out=tmp_path / "c",
                                progress=False, variant={"order": "circular"})
    assert circular["metrics"]["accuracy"]["value"] == 0.0  # a constant letter can't survive rotation

    comparison = vlmcult.compare(tmp_path / "b", tmp_path / "a")
    assert comparison["overall"]["diff"] == pytest.approx(7 / 12)
    assert comparison["groups"]["country"]["Japan"]["diff"] == pytest.approx(2 / 3)


def test_score_matches_eval(tmp_path):
    data = write_cvqa_parquet(tmp_path / "cvqa.parquet")
    labels = write_cvqa_labels(tmp_path / "labels.csv")
    evaluated = vlmcult.evaluate("cvqa", ScriptedVLM(lambda r: "The answer is B"), data=data, labels=labels,
                                 out=tmp_path / "run", progress=False)
    lines = [json.loads(line) for line in open(tmp_path / "run" / "predictions.jsonl")]
    (tmp_path / "preds.jsonl").write_text("".join(json.dumps({"id": r["id"], "output": r["output"]}) + "\n" for r in lines))
    scored = vlmcult.score("cvqa", tmp_path / "preds.jsonl", out=tmp_path / "scored", data=data, labels=labels)
    assert scored["metrics"] == evaluated["metrics"]
    (tmp_path / "unknown.jsonl").write_text('{"id": "nope", "output": "A"}\n')
    with pytest.raises(DataError, match="not in the cvqa data.*'nope'"):
        vlmcult.score("cvqa", tmp_path / "unknown.jsonl", out=tmp_path / "s2", data=data, labels=labels)


def test_bad_images_are_item_errors_and_systemic_failure_stops(tmp_path):
    good = png_bytes(draw_image(0))
    images = [good, b"", good[: len(good) // 2], b"not an image"] + [good] * 8
    data = write_cvqa_parquet(tmp_path / "cvqa.parquet", image_bytes=images)
    results = vlmcult.evaluate("cvqa", ScriptedVLM(lambda r: "A"), data=data, out=tmp_path / "run", progress=False,
                               max_error_rate=0.5)
    assert results["n"] == 12 and results["n_errors"] == 3
    errors = [json.loads(l)["error"] for l in open(tmp_path / "run" / "predictions.jsonl")]
    assert errors[1] == "image is empty (0 bytes)"
    assert errors[2].startswith("image cannot be decoded") and errors[3].startswith("image cannot be decoded")
    from vlmcult.errors import SystemicFailure

    with pytest.raises(SystemicFailure, match="--max-error-rate"):
        vlmcult.evaluate("cvqa", ScriptedVLM(lambda r: "A"), data=data, out=tmp_path / "run2", progress=False,
                         max_error_rate=0.1, batch_size=4)


def test_decompression_bomb_is_refused(tmp_path, monkeypatch):
    import vlmcult.images as images

    monkeypatch.setattr(images, "MAX_PIXELS", 32 * 32)
    with pytest.raises(DataError, match="decompression bomb"):
        images.decode_image(png_bytes(draw_image(0, 64)))


def test_missing_column_and_bad_variant(tmp_path):
    path = write_cvqa_parquet(tmp_path / "cvqa.parquet")
    table = pq.read_table(path).drop(["Translated Options"])
    pq.write_table(table, tmp_path / "broken.parquet")
    with pytest.raises(DataError, match="lacks the required column 'Translated Options'"):
        list(CVQA(source=tmp_path / "broken.parquet").load())
    with pytest.raises(ConfigError, match="did you mean 'local'"):
        CVQA(source=path, variant={"lang": "locl"})
    with pytest.raises(DataError, match="data path not found"):
        list(CVQA(source=tmp_path / "missing").load())
