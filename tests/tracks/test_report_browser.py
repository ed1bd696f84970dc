"""The audit report in headless Chromium: renders non-blank, no console messages, injected markup never runs."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw

from vlmcult.generation.awareness import run_audit

PROMPT_PAYLOAD = "<script>document.title='PWNED-BY-PROMPT'</script>"
JUDGE_PAYLOAD = ("<script>document.body.setAttribute('data-pwned','judge')</script>"
                 "<img src=x onerror=\"document.title='PWNED-BY-JUDGE'\">")


def chromium_binary() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        pytest.skip("chromium is not installed: run `make chromium` (apt-get install -y chromium) to enable this test")
    pytest.skip("chromium is not installed and installing it needs root: `sudo apt-get install -y chromium`")


class PayloadJudge:
    id = "payload-judge"

    def generate(self, requests: list[Any]) -> list[str]:
        return [f"Yes {JUDGE_PAYLOAD}" if r.text.startswith("Does") else f"Asia, Japan, {JUDGE_PAYLOAD}"
                for r in requests]


def write_run(run: Path) -> None:
    """A generation run directory in the manifest format, with drawn images and one broken file."""
    (run / "images").mkdir(parents=True)
    lines = []
    for index, (country, concept, prompt) in enumerate([
        ("Japan", "clothing", f"A kimono {PROMPT_PAYLOAD}"),
        ("Japan", "cuisine", "A bowl of ramen"),
        ("Nigeria", "cuisine", "A plate of jollof rice"),
        ("Nigeria", "clothing", "An agbada"),
    ]):
        for seed in (0, 1):
            image_id = f"p{index}__s{seed}"
            image = Image.new("RGB", (64, 64), (40 * index, 90 + 60 * seed, 200 - 40 * index))
            ImageDraw.Draw(image).ellipse((8 + 8 * seed, 8, 48, 56), fill=(250, 220, 30 * index))
            image.save(run / "images" / f"{image_id}.png")
            lines.append({"id": image_id, "prompt_id": f"p{index}", "prompt": prompt, "seed": seed,
                          "country": country, "concept": concept, "name": prompt.split()[-1],
                          "image": f"images/{image_id}.png", "model": "diffusers:tiny"})
    (run / "images" / "p3__s1.png").write_bytes(b"\x89PNG broken")
    (run / "manifest.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    (run / "run.json").write_text(json.dumps({"model": "diffusers:tiny", "seed": 0, "steps": 2}))


def run_chromium(binary: str, profile: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    command = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-extensions", "--no-first-run",
               "--enable-logging=stderr", "--v=0", f"--user-data-dir={profile}", *arguments]
    return subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)


def test_report_renders_without_console_errors_and_escapes_payloads(tmp_path: Path) -> None:
    binary = chromium_binary()
    run = tmp_path / "run"
    write_run(run)
    report = tmp_path / "report.html"
    run_audit([run], out=report, judge=PayloadJudge(), progress=False)
    url = report.resolve().as_uri()

    dom_run = run_chromium(binary, tmp_path / "profile-dom", "--dump-dom", url)
    dom = dom_run.stdout
    assert "Cultural audit: diffusers:tiny" in dom, dom_run.stderr[-2000:]
    console = [line for line in dom_run.stderr.splitlines() if ":CONSOLE" in line]
    assert console == [], console
    title = re.search(r"<title>(.*?)</title>", dom, re.DOTALL)
    assert title and title.group(1) == "vlmcult audit: diffusers:tiny"
    assert "<script" not in dom and "data-pwned" not in dom.split("<body", 1)[1].split(">", 1)[0]
    assert not re.search(r"<[^<>]*\sonerror=", dom)  # no element carries the handler; only escaped text does
    assert "&lt;img src=x onerror=\"document.title='PWNED-BY-JUDGE'\"&gt;" in dom
    assert "&lt;script&gt;document.title='PWNED-BY-PROMPT'&lt;/script&gt;" in dom
    assert "&lt;script&gt;document.body.setAttribute('data-pwned','judge')&lt;/script&gt;" in dom
    assert "error: image cannot be decoded" in dom

    shot = tmp_path / "shot.png"
    shot_run = run_chromium(binary, tmp_path / "profile-shot", f"--screenshot={shot}", "--window-size=1200,1800", url)
    assert shot.is_file(), shot_run.stderr[-2000:]
    assert [line for line in shot_run.stderr.splitlines() if ":CONSOLE" in line] == []
    pixels = np.asarray(Image.open(shot).convert("RGB"), dtype=np.int16)
    assert pixels.std() > 10  # not a blank page
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50
