"""Text-to-image prompt sets: CUBE-1K, CUBE-CSpace, CUBE-style under-specified diversity prompts, user files.

Sources (google-deepmind/cube@4ec2d35, CC BY-NC-SA 4.0; shared/reference/benchmarks.md §5):
* CUBE-1K `dataset/cube_1k.json`: a JSON list of objects with the string keys
  P31, P279, P495, P17, P2012, P361, id, name, country, domain, prompt. The `prompt` is used verbatim (about 25 of
  them lack a space before "from"/"in"; rebuilding them would change the benchmark). `id` is a Wikidata QID, "LLM"
  or blank, so it is not unique: a prompt's id here is `cube1k-<index in the file>`. concept = `domain`
  (cuisine, landmarks, art, and the extra "landscapes").
* CUBE-CSpace `dataset/cube_CSpace.json.tar.gz`: a tar with one JSON file of artifact records (`name`, `country`,
  `domain` or `parent node name`, Wikidata fields). CSpace has no prompts; vlmcult writes them with CUBE-1K's
  templates (the most frequent template of each domain; a named choice, not an official one):
  cuisine "A high resolution image of {name} from {Demonym} cuisine, realistic", landmarks/landscapes
  "A panoramic view of {name} in {country}, realistic", anything else "An image of {name} from {country}, realistic".
  Countries without a demonym in `DEMONYMS` get "from the cuisine of {country}".
* `cube-diversity`: under-specified prompts for the diversity protocol. "Image of traditional clothing" is the
  notebook's prompt (cultural_diversity.ipynb); the other concepts' prompts follow its pattern and are vlmcult's
  choice. They have no intended country (country "").
* User files: CSV (header row) or JSONL with a `prompt` column and optional `country`, `concept`, `id`, `name`.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tarfile
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vlmcult.errors import ConfigError, DataError, did_you_mean

CUBE_1K_URL = "https://raw.githubusercontent.com/google-deepmind/cube/main/dataset/cube_1k.json"
CUBE_CSPACE_URL = "https://github.com/google-deepmind/cube/raw/main/dataset/cube_CSpace.json.tar.gz"
CUBE_1K_KEYS = ("P31", "P279", "P495", "P17", "P2012", "P361", "id", "name", "country", "domain", "prompt")

# The demonyms CUBE-1K's cuisine prompts use for its 8 countries (read off cube_1k.json).
DEMONYMS = {
    "Brazil": "Brazilian",
    "France": "French",
    "India": "Indian",
    "Italy": "Italian",
    "Japan": "Japanese",
    "Nigeria": "Nigerian",
    "Turkey": "Turkish",
    "United States": "American",
}

# concept -> under-specified prompt. "clothing" is verbatim from CUBE's notebook; the rest follow its pattern.
DIVERSITY_PROMPTS = {
    "clothing": "Image of traditional clothing",
    "cuisine": "Image of traditional food",
    "landmarks": "Image of a famous landmark",
    "art": "Image of traditional art",
}

PROMPT_SETS = ("cube-1k", "cube-cspace", "cube-diversity")


@dataclass
class PromptItem:
    """One prompt to generate images for; `country` and `concept` are the audit's groups."""

    id: str
    prompt: str
    country: str = ""
    concept: str = ""
    name: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def load_prompts(source: str, data: str | os.PathLike[str] | None = None, limit: int | None = None) -> list[PromptItem]:
    """A prompt set by name (`cube-1k`, `cube-cspace`, `cube-diversity`) or a CSV/JSONL file path.

    `data` is a local copy of the official file for the CUBE sets; without it the file is fetched from the
    CUBE repository (needs the network).
    """
    if limit is not None and limit < 1:
        raise ConfigError(f"--limit must be >= 1, got {limit}")
    if source == "cube-1k":
        items = load_cube_1k(data)
    elif source == "cube-cspace":
        items = load_cube_cspace(data)
    elif source == "cube-diversity":
        items = diversity_prompts()
    elif Path(source).suffix.lower() in (".csv", ".jsonl", ".json") or Path(source).exists():
        items = load_prompt_file(source)
    else:
        raise ConfigError(
            f"unknown prompt set {source!r}{did_you_mean(source, PROMPT_SETS)}; or give a .csv/.jsonl file path"
        )
    if not items:
        raise DataError(f"prompt set {source!r} holds no prompts")
    return items[:limit] if limit else items


def _fetch(url: str, what: str, flag: str = "--data") -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.read()
    except Exception as exc:  # noqa: BLE001 - offline, DNS, HTTP errors: all mean "give a local copy"
        raise DataError(
            f"cannot download {what} from {url} ({type(exc).__name__}); download it and pass {flag} PATH"
        ) from None


def _read_source(data: str | os.PathLike[str] | None, url: str, what: str) -> tuple[bytes, str]:
    if data is None:
        return _fetch(url, what), url
    path = Path(data)
    if not path.is_file():
        raise DataError(f"{what} not found at {path}; pass --data with the path to the official file")
    return path.read_bytes(), str(path)


def load_cube_1k(data: str | os.PathLike[str] | None = None) -> list[PromptItem]:
    """CUBE-1K records in file order, each checked against the official schema."""
    raw, where = _read_source(data, CUBE_1K_URL, "cube_1k.json")
    try:
        records = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{where} is not valid JSON ({exc}); expected CUBE's cube_1k.json".splitlines()[0]) from None
    if not isinstance(records, list):
        raise DataError(f"{where} must hold a JSON list of records (CUBE's cube_1k.json), got {type(records).__name__}")
    items = []
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            raise DataError(f"{where}: record {index} is a {type(record).__name__}, not an object")
        for key in CUBE_1K_KEYS:
            if key not in record:
                raise DataError(f"{where}: record {index} lacks the key {key!r} (CUBE-1K keys: {', '.join(CUBE_1K_KEYS)})")
            if not isinstance(record[key], str):
                raise DataError(f"{where}: record {index} key {key!r} must be a string, got {type(record[key]).__name__}")
        for key in ("prompt", "country", "domain"):
            if not record[key].strip():
                raise DataError(f"{where}: record {index} key {key!r} is empty")
        items.append(
            PromptItem(
                id=f"cube1k-{index:04d}",
                prompt=record["prompt"],
                country=record["country"],
                concept=record["domain"],
                name=record["name"],
                extra={"qid": record["id"]},
            )
        )
    return items


def cspace_prompt(name: str, country: str, domain: str) -> str:
    """A CSpace artifact's prompt from CUBE-1K's templates (see the module docstring)."""
    if domain == "cuisine":
        if country in DEMONYMS:
            return f"A high resolution image of {name} from {DEMONYMS[country]} cuisine, realistic"
        return f"A high resolution image of {name} from the cuisine of {country}, realistic"
    if domain in ("landmarks", "landscapes"):
        return f"A panoramic view of {name} in {country}, realistic"
    return f"An image of {name} from {country}, realistic"


def _records_from_json(data: Any, where: str) -> list[dict[str, Any]]:
    if isinstance(data, list):
        return data
    # pandas `to_json()` default orient: {column: {row: value}}
    if isinstance(data, dict) and data and all(isinstance(v, dict) for v in data.values()):
        rows = sorted({row for column in data.values() for row in column}, key=lambda r: (len(str(r)), str(r)))
        return [{column: values.get(row) for column, values in data.items()} for row in rows]
    raise DataError(f"{where}: expected a JSON list of artifact records or a column-oriented table")


def load_cube_cspace(data: str | os.PathLike[str] | None = None) -> list[PromptItem]:
    """CUBE-CSpace artifacts from the official .json.tar.gz (or a plain .json), with templated prompts."""
    if data is None:
        cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "vlmcult" / "cube"
        cached = cache / "cube_CSpace.json.tar.gz"
        if not cached.is_file():
            cache.mkdir(parents=True, exist_ok=True)
            cached.write_bytes(_fetch(CUBE_CSPACE_URL, "cube_CSpace.json.tar.gz"))
        data = cached
    path = Path(data)
    if not path.is_file():
        raise DataError(f"CUBE-CSpace file not found at {path}; pass --data with the path to cube_CSpace.json.tar.gz")
    if path.name.endswith(".json"):
        payload = path.read_bytes()
    else:
        try:
            with tarfile.open(path, "r:*") as archive:
                members = [m for m in archive.getmembers() if m.isfile() and m.name.endswith(".json")]
                if not members:
                    raise DataError(f"{path} holds no .json file; expected CUBE's cube_CSpace.json.tar.gz")
                payload = archive.extractfile(members[0]).read()  # type: ignore[union-attr]
        except tarfile.TarError as exc:
            raise DataError(f"{path} is not a readable tar archive ({exc}); expected cube_CSpace.json.tar.gz") from None
    try:
        records = _records_from_json(json.loads(payload.decode("utf-8")), str(path))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: the CSpace JSON is not valid ({exc})".splitlines()[0]) from None
    items = []
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            raise DataError(f"{path}: CSpace record {index} is not an object")
        for key in ("name", "country"):
            if not isinstance(record.get(key), str) or not record[key].strip():
                raise DataError(f"{path}: CSpace record {index} lacks a non-empty string {key!r}")
        concept = record.get("domain") or record.get("parent node name") or ""
        if not isinstance(concept, str):
            raise DataError(f"{path}: CSpace record {index} key 'domain' must be a string")
        items.append(
            PromptItem(
                id=f"cspace-{index:06d}",
                prompt=cspace_prompt(record["name"], record["country"], concept),
                country=record["country"],
                concept=concept,
                name=record["name"],
                extra={"qid": str(record.get("id", ""))},
            )
        )
    return items


def diversity_prompts() -> list[PromptItem]:
    """CUBE-style under-specified prompts, one per concept, without an intended country."""
    return [
        PromptItem(id=f"diversity-{concept}", prompt=prompt, country="", concept=concept, name="")
        for concept, prompt in DIVERSITY_PROMPTS.items()
    ]


def _rows_from_file(path: Path) -> tuple[list[dict[str, Any]], set[str]]:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path} is not UTF-8 (byte {exc.start}); re-save it as UTF-8") from None
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        columns = {c.strip() for c in (reader.fieldnames or []) if c}
        rows = [{(k or "").strip(): v for k, v in row.items()} for row in reader]
        return rows, columns
    if path.suffix.lower() == ".json" and text.lstrip().startswith("["):
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path} is not valid JSON (line {exc.lineno})") from None
        rows = [r for r in loaded if isinstance(r, dict)]
    else:
        from vlmcult.datasource import parse_jsonl

        rows = list(parse_jsonl(text, path))
    columns = set().union(*(row.keys() for row in rows)) if rows else set()
    return rows, columns


def load_prompt_file(path: str | os.PathLike[str]) -> list[PromptItem]:
    """A user's prompt file: CSV with a header or JSONL; `prompt` required, `country`/`concept`/`id`/`name` optional."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"prompt file not found: {path}")
    rows, columns = _rows_from_file(path)
    if "prompt" not in columns:
        raise DataError(
            f"{path} has no 'prompt' column (columns: {', '.join(sorted(columns)) or 'none'}); "
            "add one, with optional 'country' and 'concept' columns"
        )
    items = []
    seen: set[str] = set()
    for index, row in enumerate(rows):
        prompt = row.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            raise DataError(f"{path}: row {index + 1} has an empty prompt")
        item_id = str(row.get("id") or f"row-{index:05d}")
        if item_id in seen:
            raise DataError(f"{path}: id {item_id!r} appears more than once (row {index + 1})")
        seen.add(item_id)
        items.append(
            PromptItem(
                id=item_id,
                prompt=prompt,
                country=str(row.get("country") or ""),
                concept=str(row.get("concept") or ""),
                name=str(row.get("name") or ""),
            )
        )
    return items
