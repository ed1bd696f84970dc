"""LAVE: exact prompt, reference filtering, demo choice, rating parse, scoring and judge caching."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vlmcult.errors import ConfigError
from vlmcult.judges import Judge, JudgeCache
from vlmcult.metrics import lave
from vlmcult.types import Request


def _demo(i: int, binary: bool = False) -> dict:
    return {
        "question": f"Is it {i}?" if binary else f"What is {i}?",
        "references": ["yes", "yes"] if binary else [f"b{i}", f"a{i}", f"a{i}"],
        "prediction": "yes" if binary else f"a{i}",
        "output": "3",
        "explanation": f"Because {i}.",
        "caption": "unused",
    }


@pytest.fixture()
def demo_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "demos"
    folder.mkdir()
    (folder / "lave_demos.json").write_text(json.dumps([_demo(i) for i in range(10)]))
    (folder / "lave_demos_binary.json").write_text(json.dumps([_demo(i, binary=True) for i in range(3)]))
    return folder


def test_reference_filter_and_format() -> None:
    refs = ["red"] * 8 + ["scarlet"] * 2 + ["pink"]
    # scarlet: 2/8 = 0.25 <= 0.25 -> dropped; pink: 1/8 -> dropped.
    assert lave.filter_references(refs) == ["red"] * 8
    assert lave.format_references(["b", "a", "a"], filter_refs=False) == "'a', 'a', 'b'"


def test_reference_filter_keeps_above_quarter() -> None:
    assert lave.format_references(["red", "red", "red", "blue"]) == "'blue', 'red', 'red', 'red'"
    assert lave.format_references(["red"] * 4 + ["blue"]) == "'red', 'red', 'red', 'red'"  # 1/4 <= 0.25


def test_binary_question_detection() -> None:
    assert lave.is_binary_question(["Yes.", "Yes.", "no"])
    assert not lave.is_binary_question(["kimchi", "yes", "kimchi"])


def test_prompt_is_exact(demo_dir: Path) -> None:
    demos = lave.load_demos(demo_dir)
    prompt = lave.build_prompt("What dish is this?", ["kimchi", "kimchi", "bibimbap"], "kimchi", demos)
    task = (
        "You are given a question, a set of gold-standard reference answers written by experts, "
        "and a candidate answer. "
        "Please rate the accuracy of the candidate answer for the question considering the reference answers. "
        "Use a scale of 1-3, with 1 indicating an incorrect or irrelevant answer, 2 indicating an ambiguous or "
        "incomplete answer, and 3 indicating a correct answer. Give the rationale before rating.\n\n"
        "THIS IS VERY IMPORTANT: A binary question should only be answered with 'yes' or 'no', otherwise the "
        "candidate answer is incorrect (rating=1).\n\n"
    )
    shots = "".join(
        f"Question: 'What is {i}?'\nReference answers: 'a{i}', 'a{i}', 'b{i}'\nCandidate answer: 'a{i}'\n"
        f"Output: Because {i}. So rating=3\n\n"
        for i in range(8)  # the first 8 of 10 demos
    )
    last = (
        "Question: 'What dish is this?'\nReference answers: 'bibimbap', 'kimchi', 'kimchi'\n"
        "Candidate answer: 'kimchi'\nOutput:"
    )
    assert prompt == task + shots + last


def test_binary_demos_are_used_for_yes_no(demo_dir: Path) -> None:
    demos = lave.load_demos(demo_dir)
    prompt = lave.build_prompt("Is this a temple?", ["yes", "yes", "no"], "yes", demos)
    assert prompt.count("Question: 'Is it ") == 3 and "What is 0?" not in prompt


def test_demo_path_forms_and_errors(demo_dir: Path, tmp_path: Path) -> None:
    assert len(lave.load_demos(demo_dir / "lave_demos.json").demos) == 10
    with pytest.raises(ConfigError, match="--lave-demos"):
        lave.load_demos(tmp_path / "missing")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "lave_demos.json").write_text("[{}]")
    (bad / "lave_demos_binary.json").write_text("[]")
    with pytest.raises(ConfigError, match="not a list of objects"):
        lave.load_demos(bad)


def test_offline_default_is_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(lave.urllib.request, "urlopen", no_network)
    with pytest.raises(ConfigError) as info:
        lave.load_demos(None, cache_dir=tmp_path / "cache")
    assert "--lave-demos" in str(info.value) and "\n" not in str(info.value)


def test_rating_parse() -> None:
    assert lave.parse_rating("Matches the references. So rating=3").rating == 3.0
    assert lave.parse_rating("Matches the references. So rating=3").rationale == "Matches the references."
    assert lave.parse_rating("rating=1 ... no wait, rating = 2").rating == 2.0  # the last one
    assert lave.parse_rating("3").rating == 3.0  # lave_ft5 style: only the final token
    assert lave.parse_rating("I cannot tell.").rating is None
    assert [lave.rating_to_score(r) for r in (1, 2, 3, None)] == [0.0, 0.5, 1.0, None]


class ScriptedJudge:
    """Answers by looking at the candidate answer in the prompt; counts its calls."""

    spec = "scripted:v1"

    def __init__(self) -> None:
        self.calls = 0

    def generate(self, requests: list[Request]) -> list[str | Exception]:
        outputs: list[str | Exception] = []
        for request in requests:
            self.calls += 1
            candidate = request.text.rsplit("Candidate answer: '", 1)[1].split("'")[0]
            outputs.append(
                {
                    "kimchi": "Same as the references. So rating=3",
                    "kimbap": "Close but not it. So rating=2",
                    "pizza": "Wrong dish. So rating=1",
                    "boom": RuntimeError("server down"),
                }.get(candidate, "no idea")
            )
        return outputs


def test_scripted_judge_scores_and_cache(demo_dir: Path, tmp_path: Path) -> None:
    demos = lave.load_demos(demo_dir)
    judge = ScriptedJudge()
    preds = ["kimchi", "kimbap", "pizza", "???", "boom"]
    refs = [["kimchi", "kimchi"]] * 5
    questions = ["What dish is this?"] * 5
    cache_path = tmp_path / "judge_cache.jsonl"
    results = lave.lave_score_batch(judge, questions, refs, preds, demos, JudgeCache(cache_path), ids=list("abcde"))
    assert [r["rating"] for r in results] == [3.0, 2.0, 1.0, None, None]
    assert [r["score"] for r in results] == [1.0, 0.5, 0.0, None, None]
    assert results[0]["rationale"] == "Same as the references."
    assert results[4]["error"].startswith("judge call failed: RuntimeError")
    assert judge.calls == 5
    lines = [json.loads(line) for line in cache_path.read_text().splitlines()]
    assert len(lines) == 4  # the failed call is not cached
    assert {line["judge"] for line in lines} == {"scripted:v1"}
    assert {line["prompt_version"] for line in lines} == {lave.PROMPT_VERSION}
    assert lines[3]["rating"] is None and lines[3]["output"] == "no idea"

    # Re-scoring with the same judge reads the cache: only the failed item is asked again.
    again = lave.lave_score_batch(judge, questions, refs, preds, demos, JudgeCache(cache_path), ids=list("abcde"))
    assert judge.calls == 6
    assert [r["cached"] for r in again] == [True, True, True, True, False]
    assert [r["score"] for r in again] == [1.0, 0.5, 0.0, None, None]

    # Another judge spec never reuses those ratings.
    other = ScriptedJudge()
    other.spec = "scripted:v2"
    lave.lave_score_batch(other, questions[:1], refs[:1], preds[:1], demos, JudgeCache(cache_path))
    assert other.calls == 1


def test_tiny_local_text_model_as_judge(demo_dir: Path, tiny_vlm_dir: Path) -> None:
    """A real `hf:` model given text-only requests: every item gets a rating or is counted unscored."""
    judge = Judge(f"hf:{tiny_vlm_dir}")
    demos = lave.load_demos(demo_dir)
    results = lave.lave_score_batch(judge, ["What dish is this?"] * 2, [["kimchi"]] * 2, ["kimchi", "pizza"], demos)
    assert len(results) == 2
    for result in results:
        assert result["error"] is None
        assert result["judge"] == f"hf:{tiny_vlm_dir}"
        assert (result["rating"] is None and result["score"] is None) or result["score"] == (result["rating"] - 1) / 2


@pytest.fixture(scope="module")
def tiny_vlm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from vlmcult.testing.tiny import build_tiny_vlm

    return build_tiny_vlm(tmp_path_factory.mktemp("tiny") / "llava", "llava")


def test_culturalvqa_lave_end_to_end_with_cache(demo_dir: Path, tmp_path: Path) -> None:
    """CulturalVQA scored with LAVE through the runner; a second run reads the judge cache back."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq
    from PIL import Image

    from vlmcult.benchmarks.culturalvqa import CulturalVQA
    from vlmcult.runner import evaluate

    png = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(png, format="PNG")
    rows = [
        {"u_id": f"u{i}", "question": "What dish is this?", "image": {"bytes": png.getvalue(), "path": None}}
        for i in range(3)
    ]
    data = tmp_path / "cvqa.parquet"
    pq.write_table(pa.Table.from_pylist(rows), data)
    labels = tmp_path / "labels.jsonl"
    labels.write_text("".join(json.dumps({"u_id": f"u{i}", "answers": ["kimchi", "kimchi"]}) + "\n" for i in range(3)))

    class Answers:
        spec = "scripted:answers"

        def generate(self, requests):
            return ["kimchi", "kimbap", "pizza"][: len(requests)]

    def run(judge: ScriptedJudge) -> dict:
        bench = CulturalVQA(data, labels=labels, judge="scripted:v1", lave_demos=demo_dir)
        bench._lave_state = {"judge": Judge("scripted:v1", model=judge), "demos": lave.load_demos(demo_dir)}
        return evaluate(
            bench, Answers(), out=tmp_path / "run", progress=False, n_resamples=10, batch_size=3, fresh=True
        )

    judge = ScriptedJudge()
    results = run(judge)
    assert results["metrics"]["lave"]["value"] == pytest.approx((1.0 + 0.5 + 0.0) / 3)
    assert judge.calls == 3
    again = ScriptedJudge()
    assert run(again)["metrics"]["lave"]["value"] == pytest.approx(0.5)
    assert again.calls == 0
