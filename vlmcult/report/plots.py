"""Matplotlib figures for the HTML reports, returned as PNG data URIs (the page stays self-contained)."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import Any


def _figure_uri(figure: Any) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    cis: Sequence[Sequence[float] | None],
    title: str,
    ylabel: str,
) -> str:
    """Horizontal bars with 95% CI whiskers, one per label (e.g. country)."""
    plt = _pyplot()
    height = max(2.0, 0.35 * len(labels) + 1.0)
    figure, axis = plt.subplots(figsize=(6.5, height))
    positions = list(range(len(labels)))
    low = [v - ci[0] if ci else 0.0 for v, ci in zip(values, cis)]
    high = [ci[1] - v if ci else 0.0 for v, ci in zip(values, cis)]
    axis.barh(positions, values, xerr=[low, high], color="#4c72b0", capsize=3)
    axis.set_yticks(positions, labels=list(labels))
    axis.invert_yaxis()
    axis.set_xlabel(ylabel)
    axis.set_title(title)
    axis.grid(axis="x", alpha=0.3)
    return _figure_uri(figure)


def grouped_bar_chart(
    groups: Sequence[str], series: dict[str, Sequence[float | None]], title: str, ylabel: str
) -> str:
    """One cluster of bars per group (country), one bar per series (model)."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(max(6.5, 0.6 * len(groups) * max(1, len(series))), 3.5))
    width = 0.8 / max(1, len(series))
    for index, (name, values) in enumerate(series.items()):
        positions = [g + index * width - 0.4 + width / 2 for g in range(len(groups))]
        axis.bar(positions, [v if v is not None else 0.0 for v in values], width=width, label=name)
    axis.set_xticks(range(len(groups)), labels=list(groups), rotation=30, ha="right")
    axis.set_ylabel(ylabel)
    axis.set_title(title)
    axis.legend(fontsize="small")
    axis.grid(axis="y", alpha=0.3)
    return _figure_uri(figure)


def heatmap(rows: Sequence[str], columns: Sequence[str], matrix: Sequence[Sequence[float | None]], title: str) -> str:
    """A country × concept grid of one metric; empty cells are blank."""
    import numpy as np

    plt = _pyplot()
    data = np.array([[np.nan if v is None else v for v in row] for row in matrix], dtype=float)
    figure, axis = plt.subplots(figsize=(1.3 * len(columns) + 2.5, 0.4 * len(rows) + 1.5))
    image = axis.imshow(data, cmap="viridis", aspect="auto")
    axis.set_xticks(range(len(columns)), labels=list(columns), rotation=30, ha="right")
    axis.set_yticks(range(len(rows)), labels=list(rows))
    for i in range(len(rows)):
        for j in range(len(columns)):
            if not np.isnan(data[i, j]):
                axis.text(j, i, f"{data[i, j]:.2f}", ha="center", va="center", color="white", fontsize=8)
    figure.colorbar(image, ax=axis)
    axis.set_title(title)
    return _figure_uri(figure)
