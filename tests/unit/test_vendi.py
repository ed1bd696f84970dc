"""Vendi score, quality-weighted Vendi and CUBE's geo-tag diversity against hand-computed values and vendi-score."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from vlmcult.errors import ConfigError, DataError
from vlmcult.metrics.vendi import (
    cube_cultural_diversity,
    geo_tag_kernel,
    quality_weighted_vendi,
    quality_weighted_vendi_K,
    vendi_score,
    vendi_score_K,
)

ALL_Q = [0, 1, 2, math.inf]


def clustered(n: int = 300, d: int = 24, clusters: int = 6, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, d))
    return centres[rng.integers(0, clusters, size=n)] + 0.3 * rng.normal(size=(n, d))


@pytest.mark.parametrize("q", ALL_Q)
def test_identical_rows_score_one(q: float) -> None:
    X = np.tile(np.array([[0.3, -1.2, 2.0, 0.5]]), (50, 1))
    assert vendi_score(X, q) == pytest.approx(1.0, abs=1e-9)
    assert vendi_score_K(np.ones((50, 50)), q) == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("q", ALL_Q)
def test_orthonormal_rows_score_n(q: float) -> None:
    rng = np.random.default_rng(1)
    basis, _ = np.linalg.qr(rng.normal(size=(40, 40)))
    X = basis[:17] * 3.0  # scale does not matter: rows are L2-normalised
    assert vendi_score(X, q) == pytest.approx(17.0, abs=1e-9)
    assert vendi_score_K(np.eye(17), q) == pytest.approx(17.0, abs=1e-9)


def test_hand_computed_spectrum_for_each_order() -> None:
    # rows e1, e1, e2: K/3 has eigenvalues 2/3, 1/3, 0
    X = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    expected = {
        0: 2.0,
        1: math.exp(-(2 / 3 * math.log(2 / 3) + 1 / 3 * math.log(1 / 3))),  # 1.889882...
        2: 1.0 / ((2 / 3) ** 2 + (1 / 3) ** 2),  # 1.8
        math.inf: 1.5,
        "inf": 1.5,
    }
    for q, value in expected.items():
        assert vendi_score(X, q) == pytest.approx(value, abs=1e-12), q
    assert vendi_score(X, 1) == pytest.approx(1.8898815748423097, abs=1e-12)


def test_row_order_invariance() -> None:
    X = clustered(200, 16)
    permuted = X[np.random.default_rng(3).permutation(len(X))]
    for q in ALL_Q[1:]:
        assert vendi_score(permuted, q) == pytest.approx(vendi_score(X, q), abs=1e-10)


def test_equal_to_vendi_score_package_on_clustered_data() -> None:
    from vendi_score import vendi

    X = clustered()
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    K = Xn @ Xn.T
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # score_K touches scipy.sparse.csr
        for q in (1, 2, "inf"):
            reference = vendi.score_K(K, q=q)
            assert vendi_score(X, q) == pytest.approx(reference, abs=1e-6), q
            assert vendi_score_K(K, q) == pytest.approx(reference, abs=1e-6), q
        for q in (0.5, 1, 2, 3, "inf"):
            assert vendi_score(X, q) == pytest.approx(vendi.score_dual(X, q=q), abs=1e-6), q
        # At q < 1 the n×n route of the package counts ~1e-17 round-off eigenvalues (276 of them here):
        # it is off by ~2e-6 at q = 0.5, where the d×d dual (24 eigenvalues) has no such noise.
        assert abs(vendi.score_K(K, q=0.5) - vendi.score_dual(X, q=0.5)) > 1e-7
        assert vendi_score(X, 1) == pytest.approx(vendi.score_X(X), abs=1e-6)
        # Documented package bug: score_X ignores q and always returns the q = 1 score.
        assert vendi.score_X(X, q=2) == pytest.approx(vendi.score_X(X, q=1), abs=1e-12)
        assert vendi_score(X, 2) < vendi_score(X, 1) - 0.1
    # The dual (n > d) and the n×n route (n <= d) agree.
    small = X[:20]
    assert vendi_score(small) == pytest.approx(vendi_score_K(K[:20, :20]), abs=1e-9)


def test_torch_path_equals_numpy_path() -> None:
    from vlmcult.metrics.vendi import _torch_vendi_score

    X = clustered(400, 24)
    for q in (0.5, 1, 2, "inf"):
        # The GPU route runs the same float64 torch code; on the CPU it must agree with numpy.
        assert _torch_vendi_score(X, q, "cpu") == pytest.approx(vendi_score(X, q, device="cpu"), abs=1e-9)
    assert _torch_vendi_score(X[:10], 1, "cpu") == pytest.approx(vendi_score(X[:10]), abs=1e-9)


def test_quality_weighted_vendi() -> None:
    X = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    quality = [1.0, 0.5, 0.0]
    # mean quality 0.5 × VS 1.8898815748...
    assert quality_weighted_vendi(X, quality) == pytest.approx(0.5 * 1.8898815748423097, abs=1e-12)
    assert quality_weighted_vendi(X, quality, q=2) == pytest.approx(0.5 * 1.8, abs=1e-12)
    assert quality_weighted_vendi_K(np.eye(4), [1, 1, 1, 1]) == pytest.approx(4.0)
    with pytest.raises(DataError, match="2 quality scores for 3 samples"):
        quality_weighted_vendi(X, [1.0, 1.0])


def test_geo_tag_kernel_hand_computed() -> None:
    tags = [("Asia", "Japan", "kimono"), ("Asia", "India", "sari"), ("Europe", "Italy", "toga"),
            ("Asia", "Japan", "yukata")]
    K = geo_tag_kernel(tags, weights=(0.5, 0.3, 0.2))
    expected = np.array([
        [1.0, 0.5, 0.0, 0.8],
        [0.5, 1.0, 0.0, 0.5],
        [0.0, 0.0, 1.0, 0.0],
        [0.8, 0.5, 0.0, 1.0],
    ])
    np.testing.assert_allclose(K, expected, atol=1e-12)
    # Two tags sharing only the continent: K/2 has eigenvalues 3/4 and 1/4.
    pair = geo_tag_kernel(tags[:2], weights=(0.5, 0.3, 0.2))
    assert vendi_score_K(pair) == pytest.approx(math.exp(-(0.75 * math.log(0.75) + 0.25 * math.log(0.25))))
    # Notebook weights (continent only) and the within-culture branch (whole tags compared).
    np.testing.assert_allclose(geo_tag_kernel(tags), [[1, 1, 0, 1], [1, 1, 0, 1], [0, 0, 1, 0], [1, 1, 0, 1]])
    np.testing.assert_allclose(geo_tag_kernel(tags, scope="within-culture"), np.eye(4))
    within = geo_tag_kernel(tags[:2] + tags[:1], weights=(0.5, 0.3, 0.2), scope="within-culture")
    np.testing.assert_allclose(within, [[1, 0.5, 1], [0.5, 1, 0.5], [1, 0.5, 1]])
    with pytest.raises(ConfigError, match="sum to 1"):
        geo_tag_kernel(tags, weights=(1, 1, 0))


def test_cube_chunks_of_eight_protocol() -> None:
    asia, europe = ("Asia", "Japan", "kimono"), ("Europe", "Italy", "toga")
    # 16 images (CUBE's count): chunk 1 has 4 + 4 continents -> VS 2 -> 2/8; chunk 2 one continent -> 1/8.
    tags = [asia] * 4 + [europe] * 4 + [asia] * 8
    assert cube_cultural_diversity(tags) == pytest.approx((2 / 8 + 1 / 8) / 2)
    # 30 labels (< 32): only the first 24 are kept -> 3 chunks of one continent each.
    assert cube_cultural_diversity([asia] * 24 + [europe] * 6) == pytest.approx(1 / 8)
    # 40 labels: all 5 chunks count; the mixed one scores 2/8.
    assert cube_cultural_diversity([asia] * 32 + [asia, europe] * 4) == pytest.approx((4 / 8 + 2 / 8) / 5)
    # A short last chunk is still divided by 8, as in the notebook: 10 labels -> [8 same] + [2 different].
    assert cube_cultural_diversity([asia] * 8 + [asia, europe]) == pytest.approx((1 / 8 + 2 / 8) / 2)


def test_bad_inputs() -> None:
    with pytest.raises(DataError, match="empty"):
        vendi_score(np.zeros((0, 4)))
    with pytest.raises(DataError, match="row 1 is all zeros"):
        vendi_score(np.array([[1.0, 0.0], [0.0, 0.0]]))
    with pytest.raises(ConfigError):
        vendi_score(np.eye(3), q=-1)
    with pytest.raises(DataError, match="square"):
        vendi_score_K(np.ones((2, 3)))
