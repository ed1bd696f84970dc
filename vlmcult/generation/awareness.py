"""Cultural awareness of generated images, per image, then aggregated per country × concept with 95% CIs.

Scorers (each optional; an audit uses the ones it is given):
* CLIP (`--clip openclip:...`): `clip_alignment` = cosine of the image with its own prompt; `country_accuracy` =
  1 when zero-shot identification among the run's countries, with the text "A photo from {country}." (vlmcult's
  template; CUBE has no automatic scorer), picks the prompt's country. Skipped for prompts without a country or
  when the run has fewer than two countries.
* VLM judge (`--judge hf:...|openai:...`):
  - `judge_faithfulness`: CUBE-style yes/no question "Does this image show {name} from {country}?" followed by
    "Answer yes or no." (a parsing aid); 1 for yes, 0 for no, None (counted as unparsed) otherwise. Prompts without
    a `name` ask about the prompt text instead: "Does this image show {prompt}?".
  - CUBE's geo-tagging prompt, verbatim from google-deepmind/cube:cultural_diversity.ipynb@4ec2d35 (question1,
    whitespace included). Its answer is split on "," into (continent, country, artifact) as the notebook does, each
    term stripped of spaces (vlmcult's choice; the notebook keeps leading spaces); any other number of terms is an
    unparsed answer. `geo_country_match` = 1 when the tagged country is the prompt's country (case-insensitive,
    with a few aliases such as USA -> United States).
* Human ratings (`--ratings FILE`): CUBE's faithfulness and realism on 1-5 scales (the exact CUBE rater wording is
  not public; the sheet's wording is vlmcult's). `human_faithfulness` and `human_realism` are the mean rating.

Files written into each run directory: `awareness.jsonl` (one line per image: `id`, `scores`, `groups`, `error`,
judge answers) and `audit.json` (metrics with CIs, groups, diversity, disparity).
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vlmcult.errors import ConfigError, DataError

GEO_TAG_PROMPT = (
    "Given is an image generated for prompt: {sample_prompt}.\n"
    "                Which country is the artifact in image from?\n"
    "                Which continent does the country belong to?\n"
    "                What is the name of the cultural artifact? For example, cultural artifacts can be "
    "{concept_space_samples}\n"
    "                You need to tag the image to the closest country/continent and name the artifact.\n"
    '                Finally just output 3 terms "continent, country and artifact name" in a comma separated '
    'fashion and nothing else".\n'
    "            "
)
FAITHFULNESS_PROMPT = "Does this image show {name} from {country}? Answer yes or no."
FAITHFULNESS_PROMPT_NO_NAME = "Does this image show {prompt}? Answer yes or no."
COUNTRY_TEMPLATE = "A photo from {country}."
# Artifact examples for the geo-tag prompt when the prompt set has no names for a concept. "clothing" is the
# notebook's `concept_space_samples`; the others are vlmcult's choice.
DEFAULT_CONCEPT_SAMPLES = {
    "clothing": "sari, kimono, jeans, kurta",
    "cuisine": "sushi, pizza, jollof rice, biryani",
    "landmarks": "Eiffel Tower, Taj Mahal, Christ the Redeemer, Mount Fuji",
    "art": "ukiyo-e, kathakali, capoeira, fresco",
}
COUNTRY_ALIASES = {
    "usa": "united states", "us": "united states", "u.s.": "united states", "u.s.a.": "united states",
    "united states of america": "united states", "america": "united states", "uk": "united kingdom",
    "türkiye": "turkey", "turkiye": "turkey",
}
METRICS = ("clip_alignment", "country_accuracy", "judge_faithfulness", "geo_country_match",
           "human_faithfulness", "human_realism")
GROUP_KEYS = ("country", "concept", "country_concept")


def normalise_country(name: str) -> str:
    text = re.sub(r"[.\s]+$", "", name.strip().lower())
    text = re.sub(r"^the\s+", "", text)
    return COUNTRY_ALIASES.get(text, text)


def parse_yes_no(text: str) -> int | None:
    """1 for an answer starting with yes, 0 for no, None otherwise."""
    words = re.findall(r"[a-z]+", text.lower())
    if not words:
        return None
    return {"yes": 1, "no": 0}.get(words[0])


def parse_geo_tag(text: str) -> tuple[str, str, str] | None:
    """'Asia, Japan, kimono' -> ('Asia', 'Japan', 'kimono'); None unless there are exactly 3 terms."""
    terms = text.strip().split(",")
    if len(terms) != 3:
        return None
    return (terms[0].strip(), terms[1].strip(), terms[2].strip())


def concept_samples(records: Sequence[dict[str, Any]]) -> dict[str, str]:
    """concept -> 'a, b, c, d': the first four distinct artifact names of that concept in the run."""
    names: dict[str, list[str]] = {}
    for record in records:
        name = str(record.get("name") or "").strip()
        concept = str(record.get("concept") or "")
        if name and name not in names.setdefault(concept, []) and len(names[concept]) < 4:
            names[concept].append(name)
    samples = {concept: ", ".join(values) for concept, values in names.items() if values}
    for concept, default in DEFAULT_CONCEPT_SAMPLES.items():
        samples.setdefault(concept, default)
    return samples


class RunImages:
    """A run's images, decoded on demand (a CUBE-1K run of 1024² images does not fit in memory at once).

    A path outside the run directory or a file that cannot be decoded is recorded in `errors` (id -> one line).
    """

    def __init__(self, run_dir: Path, records: Sequence[dict[str, Any]]) -> None:
        self.paths: dict[str, Path] = {}
        self.errors: dict[str, str] = {}
        root = run_dir.resolve()
        for record in records:
            relative = str(record.get("image") or "")
            path = (run_dir / relative).resolve()
            if not relative or root not in path.parents:
                self.errors[record["id"]] = f"image path {relative!r} is not inside the run directory"
            else:
                self.paths[record["id"]] = path

    def load(self, image_id: str) -> Any | None:
        """The RGB image, or None (and an entry in `errors`) when it cannot be decoded."""
        from vlmcult.images import decode_image

        if image_id in self.errors:
            return None
        try:
            return decode_image(self.paths[image_id])
        except DataError as exc:
            self.errors[image_id] = str(exc)
            return None

    def load_batch(self, image_ids: Sequence[str]) -> dict[str, Any]:
        loaded = {image_id: self.load(image_id) for image_id in image_ids}
        return {image_id: image for image_id, image in loaded.items() if image is not None}


class ClipScorer:
    """CLIP alignment with the image's prompt and zero-shot country identification among the run's countries."""

    def __init__(self, clip_model: Any, records: Sequence[dict[str, Any]]) -> None:
        import numpy as np

        self.model = clip_model
        prompts = sorted({r["prompt"] for r in records})
        self.prompt_vectors = dict(zip(prompts, np.asarray(clip_model.embed_texts(prompts), dtype=np.float64)))
        self.countries = sorted({r["country"] for r in records if r.get("country")})
        self.country_vectors = (
            np.asarray(clip_model.embed_texts([COUNTRY_TEMPLATE.format(country=c) for c in self.countries]),
                       dtype=np.float64)
            if len(self.countries) >= 2 else None
        )

    def score(self, records: Sequence[dict[str, Any]], images: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Per image: clip_alignment, country_accuracy, clip_country; and id -> image embedding."""
        import numpy as np

        batch = [r for r in records if r["id"] in images]
        if not batch:
            return {}, {}
        vectors = np.asarray(self.model.embed_images([images[r["id"]] for r in batch]), dtype=np.float64)
        results, embeddings = {}, {}
        for record, vector in zip(batch, vectors):
            embeddings[record["id"]] = vector
            entry: dict[str, Any] = {"clip_alignment": float(vector @ self.prompt_vectors[record["prompt"]])}
            if self.country_vectors is not None and record.get("country"):
                predicted = self.countries[int(np.argmax(self.country_vectors @ vector))]
                entry["clip_country"] = predicted
                entry["country_accuracy"] = float(predicted == record["country"])
            results[record["id"]] = entry
        return results, embeddings


def judge_scores(
    records: Sequence[dict[str, Any]], images: dict[str, Any], judge: Any, samples: dict[str, str]
) -> dict[str, dict[str, Any]]:
    """Per image: faithfulness yes/no and CUBE's geo-tag (continent, country, artifact), in one judge call.

    `samples` is concept -> artifact examples for the geo-tag prompt (`concept_samples` of the whole run).
    """
    from vlmcult.types import Request

    jobs: list[tuple[str, str, Any]] = []  # (id, kind, request)
    for record in records:
        if record["id"] not in images:
            continue
        image = images[record["id"]]
        if record.get("country"):
            if record.get("name"):
                question = FAITHFULNESS_PROMPT.format(name=record["name"], country=record["country"])
            else:
                question = FAITHFULNESS_PROMPT_NO_NAME.format(prompt=record["prompt"])
            jobs.append((record["id"], "faithfulness", Request(parts=[image, question], max_new_tokens=8)))
        geo_prompt = GEO_TAG_PROMPT.format(
            sample_prompt=record["prompt"],
            concept_space_samples=samples.get(str(record.get("concept") or ""), DEFAULT_CONCEPT_SAMPLES["clothing"]),
        )
        jobs.append((record["id"], "geo_tag", Request(parts=[image, geo_prompt], max_new_tokens=48)))
    if not jobs:
        return {}
    by_id = {r["id"]: r for r in records}
    results: dict[str, dict[str, Any]] = {}
    outputs = judge.generate([job[2] for job in jobs])
    for (image_id, kind, _), output in zip(jobs, outputs):
        entry = results.setdefault(image_id, {})
        if isinstance(output, Exception):
            entry.setdefault("scorer_errors", []).append(f"judge {kind}: {output}".splitlines()[0])
            continue
        text = str(output)
        if kind == "faithfulness":
            entry["judge_faithfulness_output"] = text
            entry["judge_faithfulness"] = parse_yes_no(text)
        else:
            entry["geo_tag_output"] = text
            tag = parse_geo_tag(text)
            entry["geo_tag"] = list(tag) if tag else None
            country = by_id[image_id].get("country")
            if tag and country:
                entry["geo_country_match"] = float(normalise_country(tag[1]) == normalise_country(country))
    return results


def score_run(
    run_dir: Path,
    records: Sequence[dict[str, Any]],
    clip_model: Any | None,
    judge_model: Any | None,
    batch_size: int = 16,
    progress: bool = True,
) -> tuple[dict[str, dict[str, Any]], dict[str, Any], RunImages]:
    """Stream a run's images in batches through the scorers: (id -> scores, id -> CLIP embedding, images)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    images = RunImages(run_dir, records)
    clip = ClipScorer(clip_model, records) if clip_model is not None else None
    samples = concept_samples(records)
    per_image: dict[str, dict[str, Any]] = {r["id"]: {} for r in records}
    embeddings: dict[str, Any] = {}
    columns = (TextColumn("scoring"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, disable=not progress, transient=True) as bar:
        task = bar.add_task("score", total=len(records))
        for start in range(0, len(records), batch_size):
            batch = records[start : start + batch_size]
            loaded = images.load_batch([r["id"] for r in batch])  # also finds the undecodable ones
            if clip is not None:
                scores, vectors = clip.score(batch, loaded)
                embeddings.update(vectors)
                for image_id, entry in scores.items():
                    per_image[image_id].update(entry)
            if judge_model is not None:
                for image_id, entry in judge_scores(batch, loaded, judge_model, samples).items():
                    per_image[image_id].update(entry)
            bar.advance(task, len(batch))
    return per_image, embeddings, images


RATING_COLUMNS = ("run", "id", "prompt_id", "country", "concept", "prompt", "image", "faithfulness", "realism")
RATING_SCALE = {
    "faithfulness": "1 = the image does not show the named artifact of that culture at all … 5 = it shows it exactly",
    "realism": "1 = clearly artificial or implausible … 5 = indistinguishable from a real photograph",
}


def read_ratings(path: str | os.PathLike[str], known: dict[tuple[str, str], Any]) -> dict[tuple[str, str], dict[str, float]]:
    """A filled-in rating CSV -> (run, id) -> mean human_faithfulness / human_realism over its raters.

    `known` maps (run, id) of the audited images; a sheet without a `run` column matches ids in any run.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"ratings file not found: {path}")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path} is not UTF-8 (byte {exc.start}); re-save it as UTF-8") from None
    reader = csv.DictReader(io.StringIO(text))
    columns = set(reader.fieldnames or [])
    if "id" not in columns or not ({"faithfulness", "realism"} & columns):
        raise DataError(f"{path} needs an 'id' column and 'faithfulness' and/or 'realism' columns (1-5)")
    sums: dict[tuple[str, str], dict[str, list[float]]] = {}
    unmatched = 0
    for number, row in enumerate(reader, start=2):
        image_id = (row.get("id") or "").strip()
        run = (row.get("run") or "").strip()
        keys = [(run, image_id)] if run else [key for key in known if key[1] == image_id]
        keys = [key for key in keys if key in known]
        if not keys:
            unmatched += 1
            continue
        for column in ("faithfulness", "realism"):
            raw = (row.get(column) or "").strip()
            if not raw:
                continue
            try:
                value = float(raw)
            except ValueError:
                value = -1.0
            if not (1 <= value <= 5 and value == int(value)):
                raise DataError(f"{path}: line {number} {column}={raw!r} is not a whole number from 1 to 5")
            for key in keys:
                sums.setdefault(key, {}).setdefault(column, []).append(value)
    if not sums:
        detail = f"none of its {unmatched} rated ids match" if unmatched else "it holds no ratings for"
        raise DataError(f"ratings file {path}: {detail} an image of the audited runs; rate the sheet `--rating-sheet` wrote")
    return {
        key: {f"human_{column}": sum(values) / len(values) for column, values in columns_.items()}
        for key, columns_ in sums.items()
    }


def write_rating_sheet(out_dir: str | os.PathLike[str], runs: Sequence[tuple[str, Path, list[dict[str, Any]]]]) -> Path:
    """A blank CSV (faithfulness and realism 1-5) plus an HTML page of the images with their ids."""
    from vlmcult.report.html import render_rating_page

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for run_name, run_dir, records in runs:
        for record in records:
            rows.append({"run": run_name, "id": record["id"], "prompt_id": record.get("prompt_id", ""),
                         "country": record.get("country", ""), "concept": record.get("concept", ""),
                         "prompt": record.get("prompt", ""), "image": str(run_dir / record.get("image", "")),
                         "faithfulness": "", "realism": ""})
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=RATING_COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    from vlmcult.store import atomic_write_text

    atomic_write_text(out_dir / "ratings.csv", buffer.getvalue())
    atomic_write_text(out_dir / "ratings.html", render_rating_page(rows, RATING_SCALE))
    return out_dir / "ratings.csv"


def run_audit(
    run_dirs: Sequence[str | os.PathLike[str]] | str | os.PathLike[str],
    out: str | os.PathLike[str] = "report.html",
    clip: str | Any | None = None,
    judge: str | Any | None = None,
    api_base: str | None = None,
    ratings: str | os.PathLike[str] | None = None,
    rating_sheet: str | os.PathLike[str] | None = None,
    grid: int = 8,
    batch_size: int = 16,
    seed: int = 0,
    progress: bool = True,
) -> list[Path]:
    """Score one or more generation runs and write the HTML report(s); returns the pages written.

    One run: `out` is its report. Several: `out` is the comparison page and each run's page is written
    next to it as `<out stem>-<run name>.html`. `clip` and `judge` are model specs or loaded models.
    """
    from vlmcult.generation.diversity import diversity_summary
    from vlmcult.generation.generate import RUN_RECORD, read_manifest
    from vlmcult.report.html import write_audit_page, write_comparison_page
    from vlmcult.stats import aggregate
    from vlmcult.store import atomic_write_json

    if isinstance(run_dirs, (str, os.PathLike)):
        run_dirs = [run_dirs]
    run_dirs = [Path(d) for d in run_dirs]
    if not run_dirs:
        raise ConfigError("give at least one generation run directory to audit")
    if grid < 1:
        raise ConfigError(f"--grid must be >= 1, got {grid}")
    names = _run_names(run_dirs)
    manifests = {name: read_manifest(run_dir) for name, run_dir in zip(names, run_dirs)}
    clip_model = _load(clip, "clip") if clip else None
    judge_model = _load(judge, "judge", api_base=api_base) if judge else None
    human = None
    if ratings:
        known = {(name, r["id"]): True for name, records in manifests.items() for r in records}
        human = read_ratings(ratings, known)
    if rating_sheet:
        write_rating_sheet(rating_sheet, [(n, d, manifests[n]) for n, d in zip(names, run_dirs)])

    out = Path(out)
    audits = []
    for name, run_dir in zip(names, run_dirs):
        records = manifests[name]
        _say(progress, f"auditing {run_dir} ({len(records)} images)")
        per_image, embeddings, images = score_run(run_dir, records, clip_model, judge_model, batch_size, progress)
        errors = images.errors
        if len(errors) == len(records):
            raise DataError(f"{run_dir}: none of its {len(records)} images can be decoded (first error: "
                            f"{next(iter(errors.values()))})")
        if human is not None:
            for image_id, entry in per_image.items():
                entry.update(human.get((name, image_id), {}))
        awareness = []
        for record in records:
            entry = per_image[record["id"]]
            awareness.append({
                "id": record["id"],
                "prompt_id": record.get("prompt_id"),
                "prompt": record.get("prompt"),
                "image": record.get("image"),
                "seed": record.get("seed"),
                "scores": {metric: entry.get(metric) for metric in METRICS if entry.get(metric) is not None},
                "groups": _groups(record),
                "error": errors.get(record["id"]),
                **{key: value for key, value in entry.items() if key not in METRICS},
            })
        atomic_write_jsonl(run_dir / "awareness.jsonl", awareness)
        metrics_present = [m for m in METRICS if any(m in a["scores"] for a in awareness)]
        overall, groups = aggregate(awareness, metrics_present, GROUP_KEYS, seed=seed)
        judged = [a for a in awareness if "judge_faithfulness_output" in a]
        tagged = [a for a in awareness if "geo_tag_output" in a]
        quality = {a["id"]: a["scores"]["judge_faithfulness"] for a in awareness
                   if a["scores"].get("judge_faithfulness") is not None}
        geo_tags = {a["id"]: tuple(a["geo_tag"]) for a in awareness if a.get("geo_tag")}
        diversity = diversity_summary(records, embeddings, quality or None, geo_tags or None, seed=seed)
        run_record = _read_json(run_dir / RUN_RECORD)
        audit = {
            "schema_version": 1,
            "name": name,
            "run_dir": str(run_dir),
            "model": run_record.get("model") or (records[0].get("model") if records else None),
            "n": len(records),
            "n_errors": len(errors),
            "scorers": {"clip": _spec(clip), "judge": _spec(judge), "ratings": str(ratings) if ratings else None},
            "unparsed": {
                "judge_faithfulness": sum(1 for a in judged if a["scores"].get("judge_faithfulness") is None),
                "geo_tag": sum(1 for a in tagged if not a.get("geo_tag")),
            },
            "metrics": overall,
            "groups": groups,
            "disparity": disparity(groups.get("country", {}), metrics_present),
            "diversity": diversity,
            "run": run_record,
        }
        atomic_write_json(run_dir / "audit.json", audit)
        audits.append((audit, awareness, images, errors))

    if len(audits) == 1:
        audit, awareness, images, errors = audits[0]
        write_audit_page(out, audit, awareness, images, grid=grid)
        return [out]
    pages = []
    for audit, awareness, images, errors in audits:
        page = out.with_name(f"{out.stem}-{audit['name']}.html")
        write_audit_page(page, audit, awareness, images, grid=grid)
        pages.append(page)
    write_comparison_page(out, [a[0] for a in audits], [p.name for p in pages])
    return [out, *pages]


def disparity(country_groups: dict[str, dict[str, Any]], metrics: Sequence[str]) -> dict[str, Any]:
    """Per metric: countries ranked best first, the best and worst, and the best-worst gap."""
    summary = {}
    for metric in metrics:
        values = [(country, groups[metric]["value"]) for country, groups in country_groups.items()
                  if groups.get(metric, {}).get("value") is not None]
        if len(values) < 2:
            continue
        ranking = sorted(values, key=lambda item: (-item[1], item[0]))
        summary[metric] = {
            "ranking": [{"country": c, "value": v} for c, v in ranking],
            "best": ranking[0][0],
            "worst": ranking[-1][0],
            "gap": ranking[0][1] - ranking[-1][1],
        }
    return summary


def atomic_write_jsonl(path: Path, records: Sequence[dict[str, Any]]) -> None:
    import json

    from vlmcult.store import atomic_write_text

    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


def _groups(record: dict[str, Any]) -> dict[str, str]:
    country = str(record.get("country") or "") or "(none)"
    concept = str(record.get("concept") or "") or "(none)"
    return {"country": country, "concept": concept, "country_concept": f"{country} / {concept}"}


def _run_names(run_dirs: Sequence[Path]) -> list[str]:
    names = []
    for run_dir in run_dirs:
        base = re.sub(r"[^A-Za-z0-9._-]", "_", run_dir.resolve().name) or "run"
        name, n = base, 2
        while name in names:
            name, n = f"{base}-{n}", n + 1
        names.append(name)
    return names


def _load(spec_or_model: str | Any, role: str, **options: Any) -> Any:
    if not isinstance(spec_or_model, str):
        return spec_or_model
    from vlmcult.registry import load_model, split_spec

    backend, _ = split_spec(spec_or_model)
    if role == "clip" and backend != "openclip":
        raise ConfigError(f"--clip {spec_or_model!r} must be an openclip: spec")
    if role == "judge":
        if backend not in ("hf", "openai"):
            raise ConfigError(f"--judge {spec_or_model!r} must be an hf: or openai: spec")
        options = {k: v for k, v in options.items() if v is not None}
        return load_model(spec_or_model, **options)
    return load_model(spec_or_model)


def _spec(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(getattr(value, "id", type(value).__name__))


def _read_json(path: Path) -> dict[str, Any]:
    import json

    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _say(enabled: bool, message: str) -> None:
    if enabled:
        import sys

        print(message, file=sys.stderr)


DEMO_PROMPTS = [  # CUBE-1K-style prompts (its templates) for the offline demo
    ("demo-jp-cuisine", "A high resolution image of onigiri from Japanese cuisine, realistic", "Japan", "cuisine", "onigiri"),
    ("demo-ng-cuisine", "A high resolution image of jollof rice from Nigerian cuisine, realistic", "Nigeria", "cuisine",
     "jollof rice"),
    ("demo-in-landmarks", "A panoramic view of Taj Mahal in India, realistic", "India", "landmarks", "Taj Mahal"),
    ("demo-br-art", "An image of capoeira performance from Brazil, realistic", "Brazil", "art", "capoeira"),
]


def run_demo(out_dir: str | os.PathLike[str], tiny_models: dict[str, Path], images_per_prompt: int = 4) -> Path:
    """The demo's text-to-image part: tiny diffusers generation + audit (tiny CLIP, tiny VLM judge), offline.

    `tiny_models` is `vlmcult.testing.tiny.make_tiny_models(...)`'s {"sd", "clip", "vlm"} folders.
    Returns the report path (`out_dir/t2i-report.html`).
    """
    from vlmcult.generation.generate import generate_images
    from vlmcult.generation.prompts import PromptItem

    out_dir = Path(out_dir)
    items = [PromptItem(id=i, prompt=p, country=c, concept=k, name=n) for i, p, c, k, n in DEMO_PROMPTS]
    generate_images(f"diffusers:{tiny_models['sd']}", items, out_dir / "t2i-run", images_per_prompt=images_per_prompt,
                    steps=2, size="64x64", batch_size=8, progress=False)
    report = out_dir / "t2i-report.html"
    run_audit([out_dir / "t2i-run"], out=report, clip=f"openclip:local-dir:{tiny_models['clip']}",
              judge=f"hf:{tiny_models['vlm']}", progress=False)
    return report
