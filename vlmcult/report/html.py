"""Self-contained HTML audit pages: jinja2 with autoescape, images and plots as data URIs, no scripts.

Every prompt, caption and judge answer reaches the page through jinja2's autoescape, and the page carries a
Content-Security-Policy that allows no scripts at all, so text from prompts or models can never run.
"""

from __future__ import annotations

import base64
import io
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vlmcult.store import atomic_write_text

TEMPLATES = Path(__file__).parent / "templates"
THUMBNAIL_PX = 160
METRIC_LABELS = {
    "clip_alignment": "CLIP alignment (cosine)",
    "country_accuracy": "CLIP country accuracy",
    "judge_faithfulness": "judge faithfulness (yes-rate)",
    "geo_country_match": "judge geo-tag country match",
    "human_faithfulness": "human faithfulness (1-5)",
    "human_realism": "human realism (1-5)",
    "vendi": "Vendi per prompt",
    "vendi_pooled": "Vendi pooled",
    "qvendi": "quality-weighted Vendi",
    "cube_diversity": "CUBE geo-tag diversity (VS/8)",
}


def environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,  # every {{ }} is HTML-escaped; nothing is marked safe except our own data URIs
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = format_number
    env.filters["ci"] = format_ci
    env.filters["label"] = lambda name: METRIC_LABELS.get(name, name)
    return env


def format_number(value: Any, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, (int, float)):
        return f"{value:.{digits}f}"
    return str(value)


def format_ci(ci: Sequence[float] | None) -> str:
    return "" if not ci else f"[{ci[0]:.3f}, {ci[1]:.3f}]"


def thumbnail_uri(image: Any, size: int = THUMBNAIL_PX) -> str:
    """A JPEG thumbnail of a PIL image as a data URI."""
    thumbnail = image.convert("RGB").copy()
    thumbnail.thumbnail((size, size))
    buffer = io.BytesIO()
    thumbnail.save(buffer, format="JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _load(images: Any, image_id: str) -> Any | None:
    """A PIL image from a dict or a `RunImages`-like object with `load(id)` (None when it cannot be decoded)."""
    if isinstance(images, dict):
        return images.get(image_id)
    return images.load(image_id)


def _cells(awareness: Sequence[dict[str, Any]], images: Any, grid: int) -> list[dict[str, Any]]:
    """Country × concept cells, each with up to `grid` tiles (image or error); images are decoded one at a time."""
    cells: dict[tuple[str, str], dict[str, Any]] = {}
    for record in awareness:
        key = (record["groups"]["country"], record["groups"]["concept"])
        cell = cells.setdefault(key, {"country": key[0], "concept": key[1], "tiles": [], "n": 0, "n_errors": 0})
        cell["n"] += 1
        if record.get("error"):
            cell["n_errors"] += 1
        if len(cell["tiles"]) >= grid:
            continue
        image = None if record.get("error") else _load(images, record["id"])
        tile = {
            "id": record["id"],
            "prompt": record.get("prompt") or "",
            "seed": record.get("seed"),
            "error": record.get("error"),
            "src": thumbnail_uri(image) if image is not None else None,
            "scores": record.get("scores", {}),
            "judge": record.get("judge_faithfulness_output"),
            "geo_tag": record.get("geo_tag_output"),
            "clip_country": record.get("clip_country"),
        }
        cell["tiles"].append(tile)
    return [cells[key] for key in sorted(cells)]


def _plots(audit: dict[str, Any]) -> list[dict[str, str]]:
    from vlmcult.report import plots

    figures = []
    countries = audit["groups"].get("country", {})
    for metric in audit["metrics"]:
        rows = [(c, g[metric]) for c, g in countries.items() if g.get(metric, {}).get("value") is not None]
        if len(rows) >= 1:
            figures.append({
                "title": f"{METRIC_LABELS.get(metric, metric)} by country",
                "src": plots.bar_chart([r[0] for r in rows], [r[1]["value"] for r in rows],
                                       [r[1]["ci95"] for r in rows], f"{METRIC_LABELS.get(metric, metric)} by country",
                                       METRIC_LABELS.get(metric, metric)),
            })
    cells = audit["groups"].get("country_concept", {})
    first = next(iter(audit["metrics"]), None)
    if first and len(cells) > 1:
        names = sorted(cells)
        row_names = sorted({n.split(" / ")[0] for n in names})
        column_names = sorted({n.split(" / ", 1)[1] for n in names})
        matrix = [[cells.get(f"{r} / {c}", {}).get(first, {}).get("value") for c in column_names] for r in row_names]
        figures.append({"title": f"{METRIC_LABELS.get(first, first)}: country × concept",
                        "src": plots.heatmap(row_names, column_names, matrix,
                                             f"{METRIC_LABELS.get(first, first)}: country × concept")})
    vendi_by_country = audit["diversity"]["groups"].get("country", {})
    rows = [(c, g["vendi"]) for c, g in vendi_by_country.items() if "vendi" in g]
    if rows:
        figures.append({"title": "Vendi score per prompt by country",
                        "src": plots.bar_chart([r[0] for r in rows], [r[1]["value"] for r in rows],
                                               [r[1]["ci95"] for r in rows], "Vendi score per prompt by country",
                                               "effective number of distinct images")})
    return figures


def write_audit_page(
    path: str | os.PathLike[str],
    audit: dict[str, Any],
    awareness: Sequence[dict[str, Any]],
    images: Any,
    grid: int = 8,
) -> Path:
    """One run's report: metrics with CIs, disparity, plots, diversity, image grids, the run record.

    `images` maps id -> PIL image (a dict, or an object with `load(id)` that decodes on demand).
    """
    path = Path(path)
    html = environment().get_template("audit.html.j2").render(
        audit=audit,
        cells=_cells(awareness, images, grid),
        plots=_plots(audit),
        grid=grid,
        run_json=json.dumps(audit.get("run", {}), indent=2, ensure_ascii=False, default=str),
        errors=[a for a in awareness if a.get("error")],
    )
    atomic_write_text(path, html)
    return path


def write_comparison_page(path: str | os.PathLike[str], audits: Sequence[dict[str, Any]], pages: Sequence[str]) -> Path:
    """Several models side by side: overall metrics, per-country values, diversity, links to each page."""
    from vlmcult.report import plots

    path = Path(path)
    metrics = [m for m in METRIC_LABELS if any(m in a["metrics"] for a in audits)]
    countries = sorted({c for a in audits for c in a["groups"].get("country", {})})
    figures = []
    for metric in metrics:
        series = {a["name"]: [a["groups"]["country"].get(c, {}).get(metric, {}).get("value") for c in countries]
                  for a in audits}
        figures.append({"title": f"{METRIC_LABELS[metric]} by country",
                        "src": plots.grouped_bar_chart(countries, series, f"{METRIC_LABELS[metric]} by country",
                                                       METRIC_LABELS[metric])})
    html = environment().get_template("compare.html.j2").render(
        audits=audits, pages=pages, metrics=metrics, countries=countries, plots=figures,
    )
    atomic_write_text(path, html)
    return path


def render_rating_page(rows: Sequence[dict[str, Any]], scale: dict[str, str]) -> str:
    """The human-rating sheet's companion page: every image with its run, id and prompt."""
    from vlmcult.errors import DataError
    from vlmcult.images import decode_image

    tiles = []
    for row in rows:
        try:
            src = thumbnail_uri(decode_image(row["image"]), size=256)
            error = None
        except DataError as exc:
            src, error = None, str(exc)
        tiles.append({**row, "src": src, "error": error})
    return environment().get_template("ratings.html.j2").render(tiles=tiles, scale=scale)
