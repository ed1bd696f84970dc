"""benchmarks/run_matrix.py: the results tree, summary.csv against results.json, skipping, failures, bad configs."""

import csv
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vlmcult.testing.fixtures import (
    write_culturalvqa_labels,
    write_cvqa_labels,
    write_cvqa_parquet,
    write_ravenea_release,
)

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "run_matrix.py"
CONFIGS = SCRIPT.parent / "configs"
FIXED_COLUMNS = ["model", "benchmark", "variant", "metric", "value", "ci_low", "ci_high", "n"]


def load_script():
    spec = importlib.util.spec_from_file_location("run_matrix", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["run_matrix"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def run_script(*args, cwd):
    # one torch thread: the tiny models gain nothing from more, and the test machines are shared
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args), "--quiet"], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=300)


def read_summary(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def number(text):
    return None if text == "" else float(text)


@pytest.fixture()
def tiny_config(tmp_path, tiny_models):
    data = tmp_path / "data"
    write_cvqa_parquet(data / "cvqa.parquet")
    write_cvqa_labels(data / "cvqa_labels.csv")
    write_ravenea_release(data / "ravenea")
    config = tmp_path / "matrix.yaml"
    config.write_text(f"""
defaults: {{seed: 3, batch_size: 6}}
models:
  - name: tiny-vlm
    spec: hf:{tiny_models['vlm']}
    options: {{max_new_tokens: 4}}
  - name: tiny-clip
    spec: openclip:local-dir:{tiny_models['clip']}
benchmarks:
  - name: cvqa
    data: ${{VLMCULT_ROOT}}/cvqa.parquet
    labels: ${{VLMCULT_ROOT}}/cvqa_labels.csv
    limit: 8
    variants: [{{lang: en}}, {{lang: local}}]
  - name: ravenea-cvqa
    data: ${{VLMCULT_ROOT}}/ravenea
    variants: [{{rag: off}}]
""", encoding="utf-8")
    return config, data


def test_matrix_tree_summary_and_skip(tmp_path, tiny_config):
    config, data = tiny_config
    out = tmp_path / "results"
    first = run_script(config, "--root", data, "--out", out, cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]

    cells = [(model, bench, slug) for model in ("tiny-vlm", "tiny-clip")
             for bench, slug in (("cvqa", "lang-en"), ("cvqa", "lang-local"), ("ravenea-cvqa", "rag-off"))]
    results = {}
    for model, bench, slug in cells:
        run_dir = out / model / bench / slug
        for name in ("predictions.jsonl", "results.json", "run_config.json"):
            assert (run_dir / name).is_file(), run_dir / name
        result = json.loads((run_dir / "results.json").read_text())
        assert result["benchmark"] == bench and result["n"] == (8 if bench == "cvqa" else 9)
        assert result["run"]["config"]["seed"] == 3 and result["run"]["config"]["batch_size"] == 6
        results[(model, bench, slug)] = result
    assert (out / "tiny-vlm" / "cvqa" / "lang-en" / "submission.csv").is_file()
    assert results[("tiny-vlm", "cvqa", "lang-local")]["variant"]["lang"] == "local"
    assert results[("tiny-clip", "ravenea-cvqa", "rag-off")]["variant"] == {"rag": "off"}
    # the spec recorded is the one written in the config, as `vlmcult eval --model SPEC` records it
    assert results[("tiny-clip", "cvqa", "lang-en")]["model"].startswith("openclip:local-dir:")

    rows = read_summary(out / "summary.csv")
    header, body = rows[0], rows[1:]
    countries = sorted({c for r in results.values() for c in r["groups"]["country"]})
    assert countries == ["China", "India", "Japan", "Korea", "Mexico", "Nigeria"]
    assert header == FIXED_COLUMNS + countries
    assert [tuple(row[:3]) for row in body] == [
        (model, bench, slug.replace("-", "=", 1)) for model, bench, slug in cells]
    for row, key in zip(body, cells):
        result = results[key]
        overall = result["metrics"]["accuracy"]
        assert row[3] == "accuracy"
        assert number(row[4]) == overall["value"]
        assert [number(row[5]), number(row[6])] == overall["ci95"]
        assert int(row[7]) == overall["n"] == result["n_scored"]
        by_country = result["groups"]["country"]
        for country, cell in zip(countries, row[len(FIXED_COLUMNS):]):
            expected = by_country[country]["accuracy"]["value"] if country in by_country else None
            assert number(cell) == expected, (key, country)
    # CVQA rows have the CVQA countries only, RAVENEA rows the RAVENEA ones
    assert [number(body[3][header.index(c)]) is None for c in countries] == [True, False, False, True, True, False]
    assert [number(body[5][header.index(c)]) is None for c in countries] == [False, False, True, False, False, False]

    before = {key: (out / key[0] / key[1] / key[2] / "results.json").stat().st_mtime_ns for key in cells}
    started = time.perf_counter()
    second = run_script(config, "--root", data, "--out", out, cwd=tmp_path)
    elapsed = time.perf_counter() - started
    assert second.returncode == 0, second.stderr[-2000:]
    assert second.stdout.count("skipped") == len(cells)
    assert "loading" not in second.stdout and "running" not in second.stdout
    assert elapsed < 15, f"skipping finished runs took {elapsed:.1f} s (no model may load)"
    after = {key: (out / key[0] / key[1] / key[2] / "results.json").stat().st_mtime_ns for key in cells}
    assert after == before
    assert read_summary(out / "summary.csv") == rows

    # an unfinished run (killed after 3 items: no results.json yet) resumes; only its model loads
    run_dir = out / "tiny-clip" / "cvqa" / "lang-en"
    lines = (run_dir / "predictions.jsonl").read_text().splitlines(keepends=True)
    (run_dir / "predictions.jsonl").write_text("".join(lines[:3]))
    (run_dir / "results.json").unlink()
    third = run_script(config, "--root", data, "--out", out, cwd=tmp_path)
    assert third.returncode == 0, third.stderr[-2000:]
    assert "resuming tiny-clip/cvqa/lang=en (3 done)" in third.stdout
    assert third.stdout.count("skipped") == len(cells) - 1 and "loading  tiny-vlm" not in third.stdout
    ids = [json.loads(line)["id"] for line in (run_dir / "predictions.jsonl").read_text().splitlines()]
    assert ids == [json.loads(line)["id"] for line in lines]
    resumed = json.loads((run_dir / "results.json").read_text())
    assert resumed["metrics"] == results[("tiny-clip", "cvqa", "lang-en")]["metrics"]
    assert read_summary(out / "summary.csv") == rows


def test_failing_cells_are_recorded_and_the_others_go_on(tmp_path, capsys):
    write_cvqa_parquet(tmp_path / "cvqa.parquet")
    config = tmp_path / "matrix.yaml"
    # openai: loads without torch; one model lacks its URL, the other meets a missing data file
    config.write_text(f"""
models:
  - {{name: no-url, spec: "openai:some-model"}}
  - {{name: local-server, spec: "openai:some-model", options: {{api_base: "http://127.0.0.1:9/v1"}}}}
benchmarks:
  - {{name: cvqa, data: {tmp_path / "missing.parquet"}}}
""", encoding="utf-8")
    code = load_script().main([str(config), "--out", str(tmp_path / "out"), "--quiet"])
    captured = capsys.readouterr()
    assert code == 1
    failures = [line for line in captured.err.splitlines() if line.startswith("failed")]
    assert len(failures) == 2
    assert "no-url/cvqa/default" in failures[0] and "needs the server's URL" in failures[0]
    assert "local-server/cvqa/default" in failures[1] and "data path not found" in failures[1]
    assert "2 of 2 runs failed" in captured.err
    assert "Traceback" not in captured.err
    rows = read_summary(tmp_path / "out" / "summary.csv")
    assert rows == [FIXED_COLUMNS, ["no-url", "cvqa", "default", "", "", "", "", ""],
                    ["local-server", "cvqa", "default", "", "", "", "", ""]]


@pytest.mark.parametrize("text, message", [
    ("models: [{name: a, spec: 'hf:x'}]\nbenchmarks: [{name: cvqq}]", "unknown benchmark 'cvqq' (did you mean 'cvqa'?)"),
    ("models: [{name: a, spec: 'hf:x'}]\nbenchmarks: [{name: cvqa, variants: [{lang: enn}]}]", "did you mean 'en'"),
    ("models: [{name: a, spec: 'hff:x'}]\nbenchmarks: [{name: cvqa}]", "unknown model backend 'hff'"),
    ("models: [{name: a, spec: 'hf:x', option: {}}]\nbenchmarks: [{name: cvqa}]", "did you mean 'options'"),
    ("models: [{name: a, spec: 'hf:x'}]\nbenchmarks: [{name: cvqa, variants: [{lang: en}, {}]}]", "same run"),
    ("models: [{name: 'a/b', spec: 'hf:x'}]\nbenchmarks: [{name: cvqa}]", "folder-safe name"),
    ("models: [{name: a, spec: 'hf:${NOT_SET_ANYWHERE}/m'}]\nbenchmarks: [{name: cvqa}]", "NOT_SET_ANYWHERE is not set"),
    ("models: [{name: a, spec: 'hf:x', benchmarks: [cvqa]}]\nbenchmarks: [{name: ravenea-cvqa}]", "not in the config"),
    ("models: [{name: a, spec: 'hf:x'}\nbenchmarks: [{name: cvqa}]", "not valid YAML at line 2"),
    ("benchmarks: [{name: cvqa}]", "needs a non-empty 'models' list"),
])
def test_bad_config_is_one_line_and_exit_2(tmp_path, capsys, text, message):
    config = tmp_path / "bad.yaml"
    config.write_text(text, encoding="utf-8")
    code = load_script().main([str(config), "--dry-run"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err, err


def test_shipped_configs_parse(tmp_path, capsys):
    script = load_script()
    # demo_tiny.yaml reads a `vlmcult demo --out DIR` folder; label files are read when the config is checked
    (tmp_path / "data").mkdir()
    write_cvqa_labels(tmp_path / "data" / "cvqa_labels.csv")
    write_culturalvqa_labels(tmp_path / "data" / "culturalvqa_labels.jsonl")
    code = script.main([str(CONFIGS / "demo_tiny.yaml"), "--root", str(tmp_path), "--out", str(tmp_path / "o"),
                        "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0
    assert "9 runs" in out and "tiny-clip/culturalvqa" not in out
    # the GPU config names hub ids; checking it must not touch the network or load anything
    code = script.main([str(CONFIGS / "cultural_vqa.yaml"), "--out", str(tmp_path / "g"), "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0
    assert "qwen2-vl-2b/cvqa/lang=local" in out and "clip-vit-l-14/ravenea-cvqa/rag=oracle" in out
    assert "clip-vit-l-14/culturalvqa" not in out


def test_cell_whose_folder_holds_another_config_needs_fresh_and_loads_no_model(tmp_path, capsys, monkeypatch):
    import vlmcult

    write_cvqa_parquet(tmp_path / "cvqa.parquet")
    config = tmp_path / "matrix.yaml"
    config.write_text(f"""
defaults: {{seed: 3}}
models:
  - {{name: m, spec: "openai:some-model"}}
benchmarks:
  - {{name: cvqa, data: {tmp_path / "cvqa.parquet"}, variants: [{{lang: en}}, {{lang: local}}]}}
""", encoding="utf-8")
    script = load_script()
    out = tmp_path / "out"
    changed, same = script.build_cells(script.load_config(config, None), out, None)
    # an earlier run of each cell, 2 items done: the first with seed 4, the second with the cell's own config
    for cell, seed in ((changed, 4), (same, 3)):
        cell.run_dir.mkdir(parents=True)
        (cell.run_dir / "run_config.json").write_text(json.dumps({**cell.expected_config, "seed": seed,
                                                                  "batch_size": 8}))
        (cell.run_dir / "predictions.jsonl").write_text('{"id": "a"}\n{"id": "b"}\n')

    assert script.main([str(config), "--out", str(out), "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("config changed (needs --fresh) m/cvqa/lang=en")
    assert lines[1].startswith("resume (2 done)") and "m/cvqa/lang=local" in lines[1]

    loads = []

    def fake_load_model(spec, **options):
        loads.append(spec)
        raise vlmcult.VlmcultError("stop here")

    monkeypatch.setattr(vlmcult, "load_model", fake_load_model)
    code = script.main([str(config), "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert code == 1
    failures = [line for line in err.splitlines() if line.startswith("failed")]
    assert failures[0] == (f"failed   m/cvqa/lang=en: {changed.run_dir} holds a run with another config (seed differ): "
                           "pass --fresh to start over or choose another --out")
    assert "m/cvqa/lang=local: cannot load openai:some-model: stop here" in failures[1]
    assert loads == ["openai:some-model"]  # only for the cell that can resume

    # with only the changed cell selected, the model is not loaded at all
    loads.clear()
    one_variant = tmp_path / "one.yaml"
    one_variant.write_text(config.read_text().replace("[{lang: en}, {lang: local}]", "[{lang: en}]"))
    assert script.main([str(one_variant), "--out", str(out), "--quiet"]) == 1
    assert loads == []
    assert "another config (seed differ)" in capsys.readouterr().err
