"""The CLI contract: commands, one-line errors with exit code 2, resume after a real SIGKILL."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vlmcult.cli import main
from vlmcult.testing.fixtures import CVQA_ROWS, write_cvqa_labels, write_cvqa_parquet

VLMCULT = str(Path(sys.executable).with_name("vlmcult"))


def run_cli(args, capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["vlmcult", *args])
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture()
def cvqa_data(tmp_path):
    return write_cvqa_parquet(tmp_path / "cvqa.parquet")


def bad_inputs(tmp_path, cvqa_data):
    not_utf8 = tmp_path / "latin1.jsonl"
    not_utf8.write_bytes('{"id": "1000_0", "output": "café"}\n'.encode("latin-1"))
    dup = tmp_path / "dup.jsonl"
    dup.write_text('{"id": "1000_0", "output": "A"}\n{"id": "1000_0", "output": "B"}\n')
    unknown = tmp_path / "unknown.jsonl"
    unknown.write_text('{"id": "zzz", "output": "A"}\n')
    hidden = tmp_path / "hidden.jsonl"
    hidden.write_text('{"id": "1000_0", "output": "A"}\n')
    not_vlm = tmp_path / "not_a_model"
    not_vlm.mkdir()
    (not_vlm / "config.json").write_text('{"model_type": "bert"}')
    out = str(tmp_path / "out")
    corrupt = tmp_path / "corrupt.parquet"
    corrupt.write_bytes(b"PAR1 not really")
    a_file = tmp_path / "a_file.txt"
    a_file.write_text("x")
    header_only = tmp_path / "labels.csv"
    header_only.write_text("ID,Label\n")
    from vlmcult.testing.fixtures import write_ravenea_release

    release = write_ravenea_release(tmp_path / "ravenea")
    eval_run = tmp_path / "eval_run"
    eval_run.mkdir()
    (eval_run / "run_config.json").write_text('{"model": "hf:some/model"}')
    return [
        (["eval", "cvqq", "--model", "hf:x"], "unknown benchmark 'cvqq' (did you mean 'cvqa'?)"),
        (["eval", "cvqa", "--model", "hf:x", "--data", str(cvqa_data), "-V", "lang=enn"], "did you mean 'en'"),
        (["eval", "cvqa", "--model", "hf:x", "--data", str(cvqa_data), "-V", "langen"], "not of the form KEY=VALUE"),
        (["eval", "cvqa", "--model", "hff:x", "--data", str(cvqa_data)], "unknown model backend 'hff'"),
        (["eval", "cvqa", "--model", "hf:" + str(not_vlm), "--data", str(cvqa_data), "--out", out], ""),
        (["eval", "cvqa", "--model", "hf:x", "--data", str(tmp_path / "missing")], "data path not found"),
        (["score", "cvqa", "--predictions", str(not_utf8), "--data", str(cvqa_data), "--out", out], "not UTF-8"),
        (["score", "cvqa", "--predictions", str(dup), "--data", str(cvqa_data), "--out", out], "more than once"),
        (["score", "cvqa", "--predictions", str(unknown), "--data", str(cvqa_data), "--out", out], "'zzz'"),
        (["score", "cvqa", "--predictions", str(hidden), "--data", str(cvqa_data), "--out", out], "--labels"),
        (["compare", str(tmp_path), str(tmp_path)], "not a finished run directory"),
        (["eval", "cvqa", "--model", "hf:x", "--data", str(corrupt)], "not a readable parquet file"),
        (["eval", "cvqa", "--model", "hf:x", "--data", str(cvqa_data), "--out", str(a_file)], "File exists"),
        (["eval", "cvqa", "--model", "hf:x", "--data", str(cvqa_data), "--max-error-rate", "2"], "fraction in [0, 1]"),
        (["eval", "cvqa", "--model", "hf:x", "--data", str(cvqa_data), "--labels", str(header_only)], "no labels"),
        (["eval", "ravenea-cvqa", "--model", "hf:x", "--data", str(release), "-V", "rag=on"], "needs --index"),
        (["eval", "ravenea-cvqa", "--model", "hf:x", "--data", str(release), "-V", "rag=on", "--index",
          str(tmp_path / "nowhere")], "index folder not found"),
        (["eval", "ravenea-cvqa", "--model", "hf:x", "--data", str(release), "--top-k", "3"], "only apply to"),
        (["score", "cvqa", "--predictions", str(hidden), "--data", str(cvqa_data), "--out", str(eval_run)],
         "holds an eval run"),
    ]


def test_bad_inputs_are_one_line_and_exit_2(tmp_path, cvqa_data, capsys, monkeypatch):
    for args, expected in bad_inputs(tmp_path, cvqa_data):
        code, _out, err = run_cli(args, capsys, monkeypatch)
        assert code == 2, (args, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (args, err)
        assert expected in lines[0], (args, lines[0])


def test_a_run_where_every_item_fails_is_a_systemic_failure(tmp_path):
    import vlmcult
    from vlmcult.errors import SystemicFailure

    class Never:
        spec = "never"

        def generate(self, requests):
            raise AssertionError("no request should reach the model")

    # three items: too few for --max-error-rate, yet nothing worked
    data = write_cvqa_parquet(tmp_path / "three.parquet", rows=[CVQA_ROWS[0]] * 3, image_bytes=[b""] * 3)
    with pytest.raises(SystemicFailure, match="all 3 items failed; last error: image is empty"):
        vlmcult.evaluate("cvqa", Never(), data=data, out=tmp_path / "run", progress=False)
    assert len((tmp_path / "run" / "predictions.jsonl").read_text().splitlines()) == 3  # the work is kept


def test_list_names_every_benchmark(capsys, monkeypatch):
    code, out, _ = run_cli(["list"], capsys, monkeypatch)
    assert code == 0
    for name in ("cvqa", "culturalvqa", "ravenea-cvqa", "lang=en|local"):
        assert name in out


def test_eval_score_compare_with_tiny_hf_model(tmp_path, tiny_models, capsys, monkeypatch):
    data = write_cvqa_parquet(tmp_path / "cvqa.parquet")
    labels = write_cvqa_labels(tmp_path / "labels.csv")
    common = ["--data", str(data), "--labels", str(labels), "--max-new-tokens", "3", "--quiet"]
    code, out, err = run_cli(["eval", "cvqa", "--model", f"hf:{tiny_models['vlm']}", "--out", str(tmp_path / "hf"),
                              *common], capsys, monkeypatch)
    assert code == 0, err
    assert "by country" in out and "Nigeria" in out
    code, out, err = run_cli(["eval", "cvqa", "--model", f"openclip:local-dir:{tiny_models['clip']}",
                              "--out", str(tmp_path / "clip"), *common], capsys, monkeypatch)
    assert code == 0, err
    clip = json.loads((tmp_path / "clip" / "results.json").read_text())
    assert clip["n_scored"] == 12 and clip["n_errors"] == 0  # the CLIP scorer always names an option
    code, out, err = run_cli(["compare", str(tmp_path / "hf"), str(tmp_path / "clip")], capsys, monkeypatch)
    assert code == 0, err
    assert "B - A" in out and "overall" in out
    code, _out, err = run_cli(["eval", "culturalvqa", "--model", f"openclip:local-dir:{tiny_models['clip']}",
                               "--data", str(data)], capsys, monkeypatch)
    assert code == 2 and "open-ended" in err


def _lines(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_resume_after_sigkill_matches_an_uninterrupted_run(tmp_path, tiny_models):
    data = write_cvqa_parquet(tmp_path / "cvqa.parquet", repeat=8)
    labels = write_cvqa_labels(tmp_path / "labels.csv", repeat=8)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    args = [VLMCULT, "eval", "cvqa", "--model", f"hf:{tiny_models['vlm']}", "--data", str(data), "--labels",
            str(labels), "--batch-size", "2", "--max-new-tokens", "3", "--quiet"]
    full = subprocess.run([*args, "--out", str(tmp_path / "full")], env=env, capture_output=True, text=True)
    assert full.returncode == 0, full.stderr

    killed_dir = tmp_path / "killed"
    process = subprocess.Popen([*args, "--out", str(killed_dir)], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    predictions = killed_dir / "predictions.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and process.poll() is None:
        if predictions.exists() and len(predictions.read_bytes().splitlines()) >= 4:
            break
        time.sleep(0.01)
    assert process.poll() is None, "the run finished before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()
    done_before = len(_lines(predictions))
    assert 0 < done_before < 96 and not (killed_dir / "results.json").exists()

    resumed = subprocess.run([*args, "--out", str(killed_dir)], env=env, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    ids = [record["id"] for record in _lines(predictions)]
    assert len(ids) == len(set(ids)) == 96
    full_results = json.loads((tmp_path / "full" / "results.json").read_text())
    resumed_results = json.loads((killed_dir / "results.json").read_text())
    for key in ("n", "n_scored", "n_errors", "metrics", "groups"):
        assert resumed_results[key] == full_results[key], key

    changed = subprocess.run([*args[:-1], "--seed", "5", "--quiet", "--out", str(killed_dir)], env=env,
                             capture_output=True, text=True)
    assert changed.returncode == 2 and "--fresh" in changed.stderr
