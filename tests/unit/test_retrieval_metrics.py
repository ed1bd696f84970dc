"""gdeval goldens computed by hand from RAVENEA's src/gdeval.py definitions."""

from __future__ import annotations

from math import log2

import pytest

from vlmcult.metrics.retrieval import (
    METRICS,
    gdeval_scores,
    ndcg_at_k,
    precision_at_k,
    reciprocal_rank,
)


def approx(value):
    return pytest.approx(value, abs=1e-12)


def test_negative_grades_and_tied_best_documents():
    grades = {"d1": 3, "d2": 1, "d3": -2, "d4": 3, "d5": 0}
    ranking = ["d2", "d1", "d5", "d4", "d3"]  # grades 1, 3, 0, 3, -2 -> shifted 4, 6, 3, 6, 1
    scores = gdeval_scores(ranking, grades)
    assert list(scores) == list(METRICS)
    # ideal order of the retrieved grades: 3, 3, 1, 0, -2 -> shifted 6, 6, 4, 3, 1
    assert scores["ndcg@1"] == approx(15 / 63)
    assert scores["ndcg@3"] == approx((15 + 63 / log2(3) + 7 / 2) / (63 + 63 / log2(3) + 15 / 2))
    assert scores["ndcg@5"] == approx(
        (15 + 63 / log2(3) + 7 / 2 + 63 / log2(5) + 1 / log2(6))
        / (63 + 63 / log2(3) + 15 / 2 + 7 / log2(5) + 1 / log2(6))
    )
    assert scores["p@1"] == 0.0  # d2 is not a max-grade doc
    assert scores["p@3"] == approx(1 / 3)  # {d2, d1, d5}: d1
    assert scores["p@5"] == approx(2 / 5)  # d1 and d4
    assert scores["mrr"] == 0.5  # first max-grade doc at position 2


def test_query_whose_best_grade_is_not_positive():
    grades = {"d1": 0, "d2": -1, "d3": -3}
    scores = gdeval_scores(["d3", "d1", "d2"], grades)  # shifted 0, 3, 2; ideal 3, 2, 0
    assert scores["mrr"] is None  # left out of the MRR mean
    assert scores["p@1"] == scores["p@3"] == scores["p@5"] == 0.0  # but counted as 0 in P@k
    assert scores["ndcg@1"] == 0.0
    assert scores["ndcg@3"] == approx((7 / log2(3) + 3 / 2) / (7 + 3 / log2(3)))
    all_worst = gdeval_scores(["a", "b"], {"a": -3, "b": -3})
    assert all_worst["ndcg@5"] == 0.0 and all_worst["mrr"] is None  # ideal DCG 0 -> 0


def test_missing_documents_grade_zero_and_short_rankings():
    grades = {"d1": 2, "d2": 1}
    scores = gdeval_scores(["x9", "d1"], grades)  # x9 unjudged -> 0; shifted 3, 5; ideal 5, 3
    assert scores["ndcg@1"] == approx(7 / 31)
    assert scores["ndcg@3"] == approx((7 + 31 / log2(3)) / (31 + 7 / log2(3)))
    assert scores["p@1"] == 0.0
    assert scores["p@3"] == 0.5 and scores["p@5"] == 0.5  # denominator = the 2 retrieved docs
    assert scores["mrr"] == 0.5
    assert reciprocal_rank(["x9"], grades) == 0.0  # never found: 0, still counted
    assert precision_at_k([], grades, 3) == 0.0


def test_duplicates_in_a_run_collapse_in_precision_like_gdeval():
    grades = {"a": 2, "b": 1}
    assert precision_at_k(["a", "a", "b"], grades, 3) == 0.5  # set(top-3) = {a, b}
    assert ndcg_at_k([2, 2, 1], 3) == approx(1.0)


def test_run_means_follow_the_official_denominators():
    queries = [
        (["d2", "d1", "d5", "d4", "d3"], {"d1": 3, "d2": 1, "d3": -2, "d4": 3, "d5": 0}),
        (["d3", "d1", "d2"], {"d1": 0, "d2": -1, "d3": -3}),
        (["x9", "d1"], {"d1": 2, "d2": 1}),
    ]
    per_query = [gdeval_scores(r, g) for r, g in queries]
    mrr = [s["mrr"] for s in per_query if s["mrr"] is not None]
    assert sum(mrr) / len(mrr) == 0.5  # gdeval: (0.5 + 0.5) / 2 queries with a positive grade
    assert sum(s["p@3"] for s in per_query) / 3 == approx((1 / 3 + 0 + 1 / 2) / 3)  # every query counts
