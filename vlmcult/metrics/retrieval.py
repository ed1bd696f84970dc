"""RAVENEA retrieval metrics per query, exactly as `src/gdeval.py` defines them.

Source: yfyuan01/RAVENEA src/gdeval.py (identical at b7b3c29 and 391be13; read at 1dadf88).
Grades are the `culture_relevance` values in [-3, 3]; a document not judged for the query has grade 0.

* nDCG@k: grades of the ranked list shifted by +3, gain 2**g - 1, discount log2(i + 2); the ideal
  DCG sorts the grades of the *retrieved* list (not of all judged documents). 0 when the ideal is 0.
* P@k: |set(top-k doc ids) & {judged docs with the maximum grade}| / |set(top-k doc ids)|;
  0 when the maximum judged grade is <= 0. Every query counts in the mean.
* MRR: 1 / (1-based position of the first document with the maximum grade), 0 when none is
  retrieved; the mean is over queries whose maximum grade is > 0 only, so such a query's value
  here is None (excluded from the mean).

The official code averages these per query; the per-query values below average to the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

GRADE_SHIFT = 3
CUTOFFS = (1, 3, 5)
METRICS = ("mrr", "p@1", "p@3", "p@5", "ndcg@1", "ndcg@3", "ndcg@5")


def _dcg(grades: Sequence[float]) -> float:
    return sum((2**grade - 1) / math.log2(position + 2) for position, grade in enumerate(grades))


def ndcg_at_k(relevance_list: Sequence[int], k: int) -> float:
    """nDCG@k of a ranked list of grades (gdeval.ndcg)."""
    ranked = [grade + GRADE_SHIFT for grade in relevance_list[:k]]
    ideal = [grade + GRADE_SHIFT for grade in sorted(relevance_list, reverse=True)[:k]]
    ideal_dcg = _dcg(ideal)
    if ideal_dcg == 0:
        return 0.0
    return _dcg(ranked) / ideal_dcg


def precision_at_k(ranked_doc_ids: Sequence[str], grades: Mapping[str, int], k: int) -> float:
    """P@k against the documents with the maximum judged grade (gdeval.precision_at_k).

    The official code divides by zero for an empty ranking of a query with a positive grade; that
    case is 0 here.
    """
    max_grade = max(grades.values(), default=0)
    if max_grade <= 0:
        return 0.0
    best = {doc_id for doc_id, grade in grades.items() if grade == max_grade}
    top = set(ranked_doc_ids[:k])
    if not top:
        return 0.0
    return len(top & best) / len(top)


def reciprocal_rank(ranked_doc_ids: Sequence[str], grades: Mapping[str, int]) -> float | None:
    """1/position of the first maximum-grade document; None when the query's max grade is <= 0."""
    if not grades:
        return None
    max_grade = max(grades.values())
    if max_grade <= 0:
        return None
    best = {doc_id for doc_id, grade in grades.items() if grade == max_grade}
    for position, doc_id in enumerate(ranked_doc_ids):
        if doc_id in best:
            return 1.0 / (position + 1)
    return 0.0


def gdeval_scores(ranked_doc_ids: Sequence[str], grades: Mapping[str, int]) -> dict[str, float | None]:
    """All reported RAVENEA metrics of one query, as fractions (the official tables show x100)."""
    relevance_list = [int(grades.get(doc_id, 0)) for doc_id in ranked_doc_ids]
    scores: dict[str, float | None] = {"mrr": reciprocal_rank(ranked_doc_ids, grades)}
    for k in CUTOFFS:
        scores[f"p@{k}"] = precision_at_k(ranked_doc_ids, grades, k)
    for k in CUTOFFS:
        scores[f"ndcg@{k}"] = ndcg_at_k(relevance_list, k)
    return scores
