"""Generation + audit end to end on the tiny diffusers pipeline and tiny CLIP (CPU, 2 steps, 64x64)."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from vlmcult.errors import DataError
from vlmcult.generation.awareness import run_audit
from vlmcult.generation.generate import generate_images, read_manifest
from vlmcult.metrics.vendi import vendi_score
from vlmcult.registry import load_model

PAYLOAD = "<script>document.title='pwned'</script>"


def write_prompts(path: Path) -> Path:
    rows = [
        ("jp-clothing", f"A kimono from Japan {PAYLOAD}", "Japan", "clothing", "kimono"),
        ("jp-cuisine", "A bowl of ramen from Japan", "Japan", "cuisine", "ramen"),
        ("it-cuisine", "A plate of pasta from Italy", "Italy", "cuisine", "pasta"),
        ("it-clothing", "A toga from Italy", "Italy", "clothing", "toga"),
    ]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "prompt", "country", "concept", "name"])
        writer.writerows(rows)
    return path


class ScriptedJudge:
    """A judge whose answers depend on the question: Japan is recognised, Italy is not."""

    id = "scripted-judge"

    def generate(self, requests: list[Any]) -> list[str | Exception]:
        answers: list[str | Exception] = []
        for request in requests:
            text = request.text
            if text.startswith("Does this image show"):
                if "ramen" in text:
                    answers.append(f"Yes {PAYLOAD}")
                elif "toga" in text:
                    answers.append("Maybe, it is hard to say.")  # unparsed: neither yes nor no
                else:
                    answers.append("Yes." if "Japan" in text else "No, it does not.")
            else:
                answers.append("Asia, Japan, kimono" if "from Japan" in text else "Europe, France, pasta")
        return answers


@pytest.fixture(scope="module")
def sd_spec(tiny_models: dict[str, Path]) -> str:
    return f"diffusers:{tiny_models['sd']}"


@pytest.fixture(scope="module")
def generator(sd_spec: str) -> Any:
    return load_model(sd_spec)


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.int16)


def test_same_seed_same_pixels_whatever_the_batch(generator: Any) -> None:
    batch = generator.generate(["a red square", "a kimono"], [5, 6], steps=2, height=64, width=64)
    alone = generator.generate(["a kimono"], [6], steps=2, height=64, width=64)
    again = generator.generate(["a kimono"], [6], steps=2, height=64, width=64)
    other_seed = generator.generate(["a kimono"], [7], steps=2, height=64, width=64)
    assert batch[1].size == (64, 64)
    assert np.array_equal(pixels(batch[1]), pixels(alone[0]))
    assert np.array_equal(pixels(alone[0]), pixels(again[0]))
    assert np.abs(pixels(alone[0]) - pixels(other_seed[0])).max() > 10


class CountingGenerator:
    def __init__(self, inner: Any) -> None:
        self.inner, self.id, self.device, self.generated = inner, inner.id, inner.device, 0

    def generate(self, prompts: list[str], seeds: list[int], **options: Any) -> list[Any]:
        self.generated += len(prompts)
        return self.inner.generate(prompts, seeds, **options)


def test_resume_after_sigkill_generates_only_missing(tmp_path: Path, sd_spec: str, generator: Any) -> None:
    prompts = write_prompts(tmp_path / "prompts.csv")
    out = tmp_path / "run"
    command = [sys.executable, "-m", "vlmcult.generation.generate", "--model", sd_spec, "--prompts", str(prompts),
               "--images-per-prompt", "4", "--steps", "2", "--size", "64x64", "--batch-size", "1", "--quiet",
               "--out", str(out)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    manifest = out / "manifest.jsonl"
    deadline = time.time() + 60
    while time.time() < deadline and process.poll() is None:
        if manifest.exists() and manifest.read_bytes().count(b"\n") >= 2:
            break
        time.sleep(0.01)
    assert process.poll() is None, f"generation ended before it could be killed: {process.stderr.read()!r}"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    done = {r["id"]: (out / r["image"]).stat().st_mtime_ns for r in read_manifest(out)}
    assert 2 <= len(done) < 16

    counting = CountingGenerator(generator)
    record = generate_images(counting, str(prompts), out, images_per_prompt=4, steps=2, size="64x64", batch_size=4,
                             progress=False)
    assert counting.generated == 16 - len(done) == record["n_generated"]
    lines = [json.loads(line) for line in manifest.read_text().splitlines()]
    assert len(lines) == 16 and len({line["id"] for line in lines}) == 16
    for image_id, mtime in done.items():  # finished images were not touched
        assert (out / "images" / f"{image_id}.png").stat().st_mtime_ns == mtime
    # A resumed image equals the same seed generated directly.
    last = lines[-1]
    direct = generator.generate([last["prompt"]], [last["seed"]], steps=2, height=64, width=64)[0]
    assert np.array_equal(pixels(Image.open(out / last["image"]).convert("RGB")), pixels(direct))
    assert generate_images(counting, str(prompts), out, images_per_prompt=4, steps=2, size="64x64",
                           progress=False)["n_generated"] == 0


def test_audit_scores_diversity_errors_and_report(tmp_path: Path, tiny_models: dict[str, Path], generator: Any) -> None:
    prompts = write_prompts(tmp_path / "prompts.csv")
    run = tmp_path / "model-a"
    generate_images(generator, str(prompts), run, images_per_prompt=2, steps=2, size="64x64", progress=False)
    (run / "images" / "it-clothing__s1.png").write_bytes(b"not a png")  # an undecodable image
    ratings = tmp_path / "ratings.csv"
    ratings.write_text("run,id,faithfulness,realism\nmodel-a,jp-cuisine__s0,4,5\nmodel-a,jp-cuisine__s1,2,\n"
                       "model-a,unknown__s9,5,5\n")
    report = tmp_path / "report.html"
    pages = run_audit([run], out=report, clip=f"openclip:local-dir:{tiny_models['clip']}", judge=ScriptedJudge(),
                      ratings=ratings, rating_sheet=tmp_path / "sheet", progress=False)
    assert pages == [report]

    audit = json.loads((run / "audit.json").read_text())
    assert audit["n"] == 8 and audit["n_errors"] == 1
    assert audit["unparsed"] == {"judge_faithfulness": 1, "geo_tag": 0}
    metrics = audit["metrics"]
    assert metrics["judge_faithfulness"]["value"] == pytest.approx(4 / 6)  # the toga answer is unparsed
    assert metrics["judge_faithfulness"]["n"] == 6
    assert metrics["geo_country_match"]["value"] == pytest.approx(4 / 7)
    assert metrics["human_faithfulness"]["value"] == pytest.approx(3.0)
    assert metrics["human_realism"]["value"] == pytest.approx(5.0) and metrics["human_realism"]["n"] == 1
    assert -1 <= metrics["clip_alignment"]["value"] <= 1 and metrics["country_accuracy"]["n"] == 7
    by_country = audit["groups"]["country"]
    assert by_country["Japan"]["judge_faithfulness"]["value"] == 1.0
    assert by_country["Italy"]["judge_faithfulness"]["value"] == 0.0
    assert by_country["Japan"]["judge_faithfulness"]["ci95"] == [1.0, 1.0]
    assert audit["disparity"]["judge_faithfulness"] == {
        "ranking": [{"country": "Japan", "value": 1.0}, {"country": "Italy", "value": 0.0}],
        "best": "Japan", "worst": "Italy", "gap": 1.0}
    assert set(audit["groups"]["country_concept"]) == {"Japan / clothing", "Japan / cuisine", "Italy / cuisine",
                                                       "Italy / clothing"}

    awareness = {json.loads(l)["id"]: json.loads(l) for l in (run / "awareness.jsonl").read_text().splitlines()}
    assert awareness["it-clothing__s1"]["error"].startswith("image cannot be decoded")
    assert awareness["jp-clothing__s0"]["geo_tag"] == ["Asia", "Japan", "kimono"]

    per_prompt = {p["prompt_id"]: p for p in audit["diversity"]["per_prompt"]}
    clip = load_model(f"openclip:local-dir:{tiny_models['clip']}")
    images = [Image.open(run / "images" / f"jp-cuisine__s{s}.png").convert("RGB") for s in (0, 1)]
    expected_vendi = vendi_score(np.asarray(clip.embed_images(images)))
    assert per_prompt["jp-cuisine"]["vendi"] == pytest.approx(expected_vendi, abs=1e-6)
    assert 1.0 <= per_prompt["jp-cuisine"]["vendi"] <= 2.0
    assert per_prompt["jp-cuisine"]["qvendi"] == pytest.approx(per_prompt["jp-cuisine"]["vendi"])  # quality 1
    assert per_prompt["it-cuisine"]["qvendi"] == 0.0  # the judge said no to both
    assert per_prompt["jp-cuisine"]["cube_diversity"] == pytest.approx(1 / 8)  # one continent, one chunk
    assert "vendi" not in per_prompt["it-clothing"]  # one decodable image only

    html = report.read_text()
    assert "&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;" in html
    assert "<script" not in html
    assert "error: image cannot be decoded" in html
    assert "Disparity across countries" in html and "data:image/png;base64," in html
    sheet = list(csv.DictReader((tmp_path / "sheet" / "ratings.csv").read_text(encoding="utf-8").splitlines()))
    assert len(sheet) == 8 and sheet[0]["faithfulness"] == ""
    assert "<script" not in (tmp_path / "sheet" / "ratings.html").read_text()


def test_comparison_page_across_models(tmp_path: Path, generator: Any) -> None:
    prompts = write_prompts(tmp_path / "prompts.csv")
    for name, seed in (("model-a", 0), ("model-b", 10)):
        generate_images(generator, str(prompts), tmp_path / name, images_per_prompt=1, seed=seed, steps=2,
                        size="64x64", limit=2, progress=False)
    pages = run_audit([tmp_path / "model-a", tmp_path / "model-b"], out=tmp_path / "compare.html",
                      judge=ScriptedJudge(), progress=False)
    assert [p.name for p in pages] == ["compare.html", "compare-model-a.html", "compare-model-b.html"]
    html = pages[0].read_text()
    assert 'href="compare-model-a.html"' in html and 'href="compare-model-b.html"' in html
    assert "judge faithfulness (yes-rate)" in html and "<script" not in html


def test_bad_inputs(tmp_path: Path) -> None:
    # Unknown prompt set: one line on stderr, exit code 2 (no model is loaded).
    result = subprocess.run([sys.executable, "-m", "vlmcult.generation.generate", "--model", "diffusers:x",
                             "--prompts", "cube-1kk", "--out", str(tmp_path / "o")], capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: unknown prompt set 'cube-1kk' (did you mean 'cube-1k'?); or give a .csv/.jsonl file path"
    # Zero images.
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "manifest.jsonl").write_text("")
    with pytest.raises(DataError, match="zero images"):
        run_audit([empty], out=tmp_path / "r.html", progress=False)
    with pytest.raises(DataError, match="no manifest.jsonl"):
        run_audit([tmp_path], out=tmp_path / "r.html", progress=False)
    # Every image undecodable.
    broken = tmp_path / "broken"
    (broken / "images").mkdir(parents=True)
    (broken / "images" / "a__s0.png").write_bytes(b"junk")
    (broken / "manifest.jsonl").write_text(json.dumps({"id": "a__s0", "prompt_id": "a", "prompt": "p", "seed": 0,
                                                       "country": "Japan", "concept": "art", "image": "images/a__s0.png"}) + "\n")
    with pytest.raises(DataError, match="none of its 1 images can be decoded"):
        run_audit([broken], out=tmp_path / "r.html", progress=False)
    # Ratings whose ids match nothing.
    Image.new("RGB", (8, 8), "red").save(broken / "images" / "a__s0.png")
    ratings = tmp_path / "ratings.csv"
    ratings.write_text("id,faithfulness,realism\nnope__s0,3,3\n")
    with pytest.raises(DataError, match="none of its 1 rated ids match"):
        run_audit([broken], out=tmp_path / "r.html", ratings=ratings, progress=False)
    ratings.write_text("id,faithfulness,realism\na__s0,7,3\n")
    with pytest.raises(DataError, match="faithfulness='7' is not a whole number from 1 to 5"):
        run_audit([broken], out=tmp_path / "r.html", ratings=ratings, progress=False)


def _cube_audit_script() -> Any:
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "generation" / "cube_audit.py"
    spec = importlib.util.spec_from_file_location("cube_audit", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cube_audit_run_folders_are_unique_per_model(tmp_path: Path) -> None:
    import hashlib

    from vlmcult.errors import ConfigError

    script = _cube_audit_script()

    def short(spec: str) -> str:
        return hashlib.sha256(spec.encode()).hexdigest()[:8]

    specs = ["diffusers:stabilityai/sdxl-base", "diffusers:/models/v2/sdxl-base/", "diffusers:/models/playground",
             "diffusers:/other/SDXL-BASE"]
    assert script.run_names(specs) == [f"sdxl-base-{short(specs[0])}", f"sdxl-base-{short(specs[1])}", "playground",
                                       f"SDXL-BASE-{short(specs[3])}"]
    assert script.run_names(["diffusers:a/sd15", "diffusers:b/sdxl"]) == ["sd15", "sdxl"]  # no clash: names as before
    with pytest.raises(ConfigError, match="--model diffusers:a/sd15 is given more than once"):
        script.run_names(["diffusers:a/sd15", "diffusers:b/sdxl", "diffusers:a/sd15"])
    # from the command line: one line, exit 2, before any model loads or folder is made
    result = subprocess.run([sys.executable, str(Path(script.__file__)), "--model", "diffusers:x/m", "--model",
                             "diffusers:x/m", "--out", str(tmp_path / "audit")], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: --model diffusers:x/m is given more than once; list each model once"
    assert not (tmp_path / "audit").exists()
