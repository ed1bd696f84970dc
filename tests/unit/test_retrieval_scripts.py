"""retrieval/eval_retrieval.py and retrieval/build_wikipedia_index.py: bad input is one line and exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from vlmcult.testing.fixtures import write_ravenea_release

SCRIPTS = Path(__file__).resolve().parents[2] / "retrieval"


def run_script(name: str, *args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPTS / name), *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=120, check=False)


def assert_one_line_error(result: subprocess.CompletedProcess[str], message: str) -> None:
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.stderr


def test_eval_missing_data_is_one_line(tmp_path: Path) -> None:
    result = run_script("eval_retrieval.py", "--data", tmp_path / "no-such-release", "--encoder", "sbert:minilm",
                        cwd=tmp_path)
    assert_one_line_error(result, "RAVENEA release folder not found")
    assert not (tmp_path / "runs").exists()


def test_eval_encoder_typo_is_one_line(tmp_path: Path) -> None:
    write_ravenea_release(tmp_path / "ravenea")
    result = run_script("eval_retrieval.py", "--data", tmp_path / "ravenea", "--encoder", "sbret:minilm",
                        "--out", tmp_path / "out", cwd=tmp_path)
    assert_one_line_error(result, "'sbret' is not an embedder backend (did you mean 'sbert'?)")


def test_eval_corpus_mode_without_index_is_one_line(tmp_path: Path) -> None:
    result = run_script("eval_retrieval.py", "--data", tmp_path, "--encoder", "sbert:minilm", "--mode", "corpus",
                        cwd=tmp_path)
    assert_one_line_error(result, "--mode corpus needs --index")


def test_build_missing_dump_is_one_line(tmp_path: Path) -> None:
    result = run_script("build_wikipedia_index.py", "--dump", tmp_path / "no-such-dump", "--encoder", "sbert:minilm",
                        "--out", tmp_path / "index", cwd=tmp_path)
    assert_one_line_error(result, "corpus not found")
    assert not (tmp_path / "index").exists()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX paths")
def test_build_unwritable_out_is_one_line(tmp_path: Path) -> None:
    corpus = tmp_path / "wiki.jsonl"
    corpus.write_text(json.dumps({"id": "1", "title": "Kimchi", "text": "Fermented cabbage."}) + "\n")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = run_script("build_wikipedia_index.py", "--dump", corpus, "--encoder", "sbert:minilm",
                        "--out", blocker / "index", cwd=tmp_path)
    assert_one_line_error(result, str(blocker))
