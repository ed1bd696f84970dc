"""Prompt sets: CUBE-1K and CSpace in their official formats, diversity prompts, user files, bad input."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from vlmcult.errors import ConfigError, DataError
from vlmcult.generation.prompts import (
    CUBE_1K_KEYS,
    DIVERSITY_PROMPTS,
    load_cube_cspace,
    load_prompts,
)

# Two records as they appear in google-deepmind/cube:dataset/cube_1k.json (the second lacks the space before "from").
CUBE_RECORDS = [
    {"P31": "['Q746549']", "P279": "nan", "P495": "['Q1033']", "P17": "nan", "P2012": "nan", "P361": "nan",
     "id": "Q392935", "name": "akara", "country": "Nigeria", "domain": "cuisine",
     "prompt": "A high resolution image of akara from Nigerian cuisine, realistic"},
    {"P31": "nan", "P279": "nan", "P495": "nan", "P17": "nan", "P2012": "nan", "P361": "nan",
     "id": "LLM", "name": "pão de queijo", "country": "Brazil", "domain": "cuisine",
     "prompt": "A high resolution image of pão de queijofrom Brazilian cuisine, realistic"},
    {"P31": "[]", "P279": " ", "P495": "", "P17": "['Q17']", "P2012": "nan", "P361": "nan",
     "id": " ", "name": "Mount Fuji", "country": "Japan", "domain": "landscapes",
     "prompt": "A panoramic view of Mount Fuji in Japan, realistic"},
]


def write_cube(path: Path, records: list[dict]) -> Path:
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    return path


def test_cube_1k_prompts_verbatim(tmp_path: Path) -> None:
    items = load_prompts("cube-1k", write_cube(tmp_path / "cube_1k.json", CUBE_RECORDS))
    assert [i.id for i in items] == ["cube1k-0000", "cube1k-0001", "cube1k-0002"]
    assert items[1].prompt == "A high resolution image of pão de queijofrom Brazilian cuisine, realistic"
    assert (items[0].country, items[0].concept, items[0].name) == ("Nigeria", "cuisine", "akara")
    assert items[2].concept == "landscapes" and items[1].extra == {"qid": "LLM"}
    assert len(load_prompts("cube-1k", tmp_path / "cube_1k.json", limit=2)) == 2


def test_malformed_cube_1k_names_record_and_key(tmp_path: Path) -> None:
    broken = [dict(r) for r in CUBE_RECORDS]
    del broken[2]["prompt"]
    with pytest.raises(DataError, match=r"record 2 lacks the key 'prompt'"):
        load_prompts("cube-1k", write_cube(tmp_path / "a.json", broken))
    broken = [dict(r) for r in CUBE_RECORDS]
    broken[1]["country"] = 7
    with pytest.raises(DataError, match=r"record 1 key 'country' must be a string"):
        load_prompts("cube-1k", write_cube(tmp_path / "b.json", broken))
    (tmp_path / "c.json").write_text("{not json")
    with pytest.raises(DataError, match="not valid JSON"):
        load_prompts("cube-1k", tmp_path / "c.json")
    with pytest.raises(DataError, match="not found"):
        load_prompts("cube-1k", tmp_path / "missing.json")
    assert len(CUBE_1K_KEYS) == 11


def test_cube_cspace_tarball(tmp_path: Path) -> None:
    records = [
        {"P31": "['Q746549']", "P279": "nan", "P495": "['Q17']", "P17": "nan", "P361": "nan", "id": "Q1",
         "parent node name": "dish", "name": "onigiri", "country": "Japan", "domain": "cuisine"},
        {"id": "Q2", "name": "Taj Mahal", "country": "India", "domain": "landmarks"},
        {"id": "Q3", "name": "injera", "country": "Ethiopia", "domain": "cuisine"},
        {"id": "Q4", "name": "kente", "country": "Ghana", "parent node name": "textile"},
    ]
    payload = json.dumps(records).encode()
    archive = tmp_path / "cube_CSpace.json.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("cube_CSpace.json")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    items = load_prompts("cube-cspace", archive)
    assert [i.prompt for i in items] == [
        "A high resolution image of onigiri from Japanese cuisine, realistic",
        "A panoramic view of Taj Mahal in India, realistic",
        "A high resolution image of injera from the cuisine of Ethiopia, realistic",
        "An image of kente from Ghana, realistic",
    ]
    assert items[3].concept == "textile" and items[0].id == "cspace-000000"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"name": "x"}]))
    with pytest.raises(DataError, match="record 0 lacks a non-empty string 'country'"):
        load_cube_cspace(bad)


def test_diversity_prompts() -> None:
    items = load_prompts("cube-diversity")
    assert DIVERSITY_PROMPTS["clothing"] == "Image of traditional clothing"  # CUBE's notebook prompt
    assert {i.concept for i in items} == set(DIVERSITY_PROMPTS) and all(i.country == "" for i in items)


def test_user_csv_and_jsonl(tmp_path: Path) -> None:
    csv_path = tmp_path / "mine.csv"
    csv_path.write_text("prompt,country,concept\nA bowl of pho,Vietnam,cuisine\nA sari,India,clothing\n")
    items = load_prompts(str(csv_path))
    assert [(i.id, i.prompt, i.country, i.concept) for i in items] == [
        ("row-00000", "A bowl of pho", "Vietnam", "cuisine"), ("row-00001", "A sari", "India", "clothing")]
    jsonl_path = tmp_path / "mine.jsonl"
    jsonl_path.write_text('{"id": "p1", "prompt": "A kimono", "country": "Japan", "concept": "clothing"}\n')
    assert load_prompts(str(jsonl_path))[0].id == "p1"


def test_bad_prompt_inputs(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown prompt set 'cube1k' \(did you mean 'cube-1k'\?\)"):
        load_prompts("cube1k")
    no_prompt = tmp_path / "np.csv"
    no_prompt.write_text("text,country\nA sari,India\n")
    with pytest.raises(DataError, match="no 'prompt' column"):
        load_prompts(str(no_prompt))
    duplicate = tmp_path / "dup.jsonl"
    duplicate.write_text('{"id": "a", "prompt": "x"}\n{"id": "a", "prompt": "y"}\n')
    with pytest.raises(DataError, match="appears more than once"):
        load_prompts(str(duplicate))
