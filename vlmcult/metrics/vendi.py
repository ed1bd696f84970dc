"""Vendi score (Friedman & Dieng 2023), quality-weighted Vendi (Nguyen & Dieng 2024) and CUBE's geo-tag diversity.

VS_q(K) = exp(H_q(λ)), λ the eigenvalues of K/n for a similarity kernel with k(x, x) = 1, H_q the Rényi entropy of
order q (Shannon at q = 1, -log max λ at q = inf, log of the number of non-zero λ at q = 0).

On embeddings (cosine kernel K = X̂X̂ᵀ with L2-normalised rows X̂) the non-zero spectrum of K/n equals that of the
d×d matrix X̂ᵀX̂/n, so `vendi_score` never builds the n×n kernel: O(n d²) time and O(d²) memory. The eigen step is
float64 (float32 is off by ~4e-4 at n = 100,000, offline-models.md §5).

Differences from the `vendi-score` 0.0.3 package (`vendi_score.vendi`), which is the reference implementation:
* `vendi.score_X(X, q)` ignores `q` (it calls `score_K(K, q=1)`): for q != 1 it returns the q = 1 score.
  `vendi_score(X, q)` honours q; it equals `vendi.score_K(X̂X̂ᵀ, q)` and `vendi.score_dual(X, q)`.
* The package counts every eigenvalue > 0, including round-off noise (±1e-17), so its q = 0 score of n identical
  rows is not 1. Here eigenvalues below `max(λ) · size · eps` (numpy's matrix-rank tolerance) are treated as 0;
  the effect on q > 0 scores is below 1e-9.
* q = inf is accepted as `float("inf")`, `np.inf` or the package's string "inf".

Quality-weighted Vendi (`vertaix/Quality-Weighted-Vendi-Score` README): qVS(K, s) = (Σ s_i / n) · VS_q(K).

CUBE cultural diversity (google-deepmind/cube:cultural_diversity.ipynb@4ec2d35, `calculate_cultural_diversity`):
images are geo-tagged as (continent, country, artifact); the kernel is
k(a, b) = w_continent·[a.continent == b.continent] + w_country·[a.country == b.country] + w_artifact·[a.artifact == b.artifact]
with the notebook's weights (1, 0, 0); if there are fewer than 32 labels only the first 24 are kept; the labels are
split into chunks of 8, each chunk scores VS(chunk) / 8 (a short last chunk is still divided by 8, as in the
notebook), and the result is the mean over chunks. The notebook's within-culture branch (`_global=False`) compares
whole labels: k(a, b) = w_continent·[a == b] + w_country + w_artifact (its `None == None` terms are always true).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from vlmcult.errors import ConfigError, DataError

# The notebook's weights for its global-prompt example: continent only.
CUBE_NOTEBOOK_WEIGHTS = (1.0, 0.0, 0.0)
CUBE_CHUNK_SIZE = 8


def _order(q: float | str) -> float:
    if isinstance(q, str):
        if q.strip().lower() == "inf":
            return math.inf
        raise ConfigError(f"Vendi order q={q!r} is not a number; use a float >= 0 or 'inf'")
    q = float(q)
    if not q >= 0:
        raise ConfigError(f"Vendi order q={q} must be >= 0 (or 'inf')")
    return q


def entropy_score(eigenvalues: Any, q: float | str = 1) -> float:
    """exp(Rényi entropy of order q) of a spectrum that sums to 1 (0·log 0 = 0; round-off eigenvalues dropped)."""
    order = _order(q)
    w = np.asarray(eigenvalues, dtype=np.float64)
    if w.size == 0:
        raise DataError("Vendi score of an empty set is undefined: give at least one sample")
    tolerance = max(float(w.max()), 0.0) * w.size * np.finfo(np.float64).eps
    w = w[w > tolerance]
    if w.size == 0:
        raise DataError("Vendi score is undefined for an all-zero kernel")
    if order == 1:
        return float(np.exp(-(w * np.log(w)).sum()))
    if order == math.inf:
        return float(1.0 / w.max())
    if order == 0:
        return float(w.size)
    return float(np.exp(np.log((w**order).sum()) / (1.0 - order)))


def vendi_score_K(K: Any, q: float | str = 1) -> float:
    """Vendi score of an n×n similarity matrix K with k(x, x) = 1 (eigenvalues of K/n, float64)."""
    K = np.asarray(K, dtype=np.float64)
    if K.ndim != 2 or K.shape[0] != K.shape[1]:
        raise DataError(f"Vendi kernel must be a square matrix, got shape {K.shape}")
    n = K.shape[0]
    if n == 0:
        raise DataError("Vendi score of an empty set is undefined: give at least one sample")
    return entropy_score(np.linalg.eigvalsh(K / n), q)


_GRAM_CHUNK_ROWS = 8192  # rows cast to float64 at a time: 32 MB at d = 512 instead of a full float64 copy


def _check_embeddings(X: Any) -> np.ndarray:
    X = np.asarray(X)
    if X.ndim != 2:
        raise DataError(f"Vendi embeddings must be a 2-d array (n samples × d), got shape {X.shape}")
    if X.shape[0] == 0:
        raise DataError("Vendi score of an empty set is undefined: give at least one sample")
    return X


def _normalised_chunk(chunk: np.ndarray, offset: int) -> np.ndarray:
    rows = np.array(chunk, dtype=np.float64)  # a copy: the caller's array is never changed
    if not np.isfinite(rows).all():
        raise DataError("Vendi embeddings contain NaN or infinite values")
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    if (norms == 0).any():
        raise DataError(f"Vendi embeddings: row {offset + int(np.flatnonzero(norms[:, 0] == 0)[0])} is all zeros")
    rows /= norms
    return rows


def _use_cuda(device: str | None) -> bool:
    if device is None:
        # Auto: the GPU only when torch is already loaded (importing it costs seconds) and sees one.
        torch = sys.modules.get("torch")
        return bool(torch is not None and torch.cuda.is_available())
    if device.startswith("cuda"):
        return True
    if device == "cpu":
        return False
    raise ConfigError(f"Vendi device {device!r} is not 'cpu' or 'cuda'")


def vendi_score(X: Any, q: float | str = 1, device: str | None = None) -> float:
    """Vendi score of embeddings X (n × d) under the cosine kernel, through the d×d dual in float64.

    `device`: None picks CUDA when torch is already imported and sees a GPU, else numpy on the CPU;
    "cpu" or "cuda" force one.
    """
    if _use_cuda(device):
        return _torch_vendi_score(X, q, device or "cuda")
    X = _check_embeddings(X)
    n, d = X.shape
    if n <= d:  # the n×n kernel is the smaller matrix
        rows = _normalised_chunk(X, 0)
        return entropy_score(np.linalg.eigvalsh(rows @ rows.T / n), q)
    gram = np.zeros((d, d), dtype=np.float64)
    for start in range(0, n, _GRAM_CHUNK_ROWS):
        rows = _normalised_chunk(X[start : start + _GRAM_CHUNK_ROWS], start)
        gram += rows.T @ rows
    return entropy_score(np.linalg.eigvalsh(gram / n), q)


def _torch_vendi_score(X: Any, q: float | str, device: str) -> float:
    """The dual on a torch device (float64 throughout); bad rows are reported by the numpy path."""
    import torch

    rows = torch.as_tensor(_check_embeddings(X), device=device).to(torch.float64)
    norms = rows.norm(dim=1, keepdim=True)
    if bool((norms == 0).any()) or not bool(torch.isfinite(rows).all()):
        return vendi_score(X, q, device="cpu")
    rows = rows / norms
    if rows.shape[0] <= rows.shape[1]:
        matrix = rows @ rows.T / rows.shape[0]
    else:
        matrix = rows.T @ rows / rows.shape[0]
    return entropy_score(torch.linalg.eigvalsh(matrix).cpu().numpy(), q)


def _quality_mean(quality: Any, n: int) -> float:
    quality = np.asarray(quality, dtype=np.float64).reshape(-1)
    if quality.shape[0] != n:
        raise DataError(f"quality-weighted Vendi: {quality.shape[0]} quality scores for {n} samples")
    if not np.isfinite(quality).all():
        raise DataError("quality-weighted Vendi: quality scores contain NaN or infinite values")
    return float(quality.mean())


def quality_weighted_vendi(X: Any, quality: Any, q: float | str = 1, device: str | None = None) -> float:
    """qVS = mean(quality) × VS_q(X) on embeddings (Nguyen & Dieng 2024)."""
    n = np.asarray(X).shape[0] if np.ndim(X) == 2 else -1
    return _quality_mean(quality, n) * vendi_score(X, q, device=device)


def quality_weighted_vendi_K(K: Any, quality: Any, q: float | str = 1) -> float:
    """qVS = mean(quality) × VS_q(K) for any kernel matrix."""
    K = np.asarray(K)
    return _quality_mean(quality, K.shape[0] if K.ndim == 2 else -1) * vendi_score_K(K, q)


GeoTag = tuple[str, str, str]  # (continent, country, artifact)


def _check_weights(weights: Sequence[float]) -> tuple[float, float, float]:
    if len(weights) != 3 or any(float(w) < 0 for w in weights):
        raise ConfigError(f"geo-tag kernel weights {tuple(weights)} must be 3 non-negative numbers "
                          "(continent, country, artifact)")
    if abs(sum(float(w) for w in weights) - 1.0) > 1e-9:
        raise ConfigError(f"geo-tag kernel weights {tuple(weights)} must sum to 1 so that k(x, x) = 1")
    return (float(weights[0]), float(weights[1]), float(weights[2]))


def geo_tag_kernel(
    tags: Sequence[GeoTag], weights: Sequence[float] = CUBE_NOTEBOOK_WEIGHTS, scope: str = "global"
) -> np.ndarray:
    """CUBE's hierarchical similarity matrix over geo-tags (continent, country, artifact).

    scope="global": the weighted sum of per-field equalities; scope="within-culture": the notebook's
    `_global=False` branch, which compares whole tags with the continent weight.
    """
    w_continent, w_country, w_artifact = _check_weights(weights)
    if scope not in ("global", "within-culture"):
        raise ConfigError(f"geo-tag kernel scope {scope!r} is not 'global' or 'within-culture'")
    tags = [tuple(tag) for tag in tags]
    n = len(tags)
    K = np.zeros((n, n), dtype=np.float64)
    for i in range(n):
        for j in range(i, n):
            a, b = tags[i], tags[j]
            if scope == "global":
                value = w_continent * (a[0] == b[0]) + w_country * (a[1] == b[1]) + w_artifact * (a[2] == b[2])
            else:
                value = w_continent * (a == b) + w_country + w_artifact
            K[i, j] = K[j, i] = value
    return K


def cube_cultural_diversity(
    tags: Sequence[GeoTag],
    weights: Sequence[float] = CUBE_NOTEBOOK_WEIGHTS,
    scope: str = "global",
    chunk_size: int = CUBE_CHUNK_SIZE,
) -> float:
    """CUBE's notebook protocol: keep 24 labels if fewer than 32, chunks of 8, mean of VS(chunk) / 8."""
    tags = list(tags)
    if not tags:
        raise DataError("CUBE cultural diversity needs at least one geo-tagged image")
    if len(tags) < 32:
        tags = tags[:24]
    scores = []
    for start in range(0, len(tags), chunk_size):
        chunk = tags[start : start + chunk_size]
        scores.append(vendi_score_K(geo_tag_kernel(chunk, weights, scope)) / chunk_size)
    return float(np.mean(scores))
