"""GIMMICK's string-match accuracies, exactly as the official code computes them.

Source: floschne/gimmick src/gimmick/eval/metrics.py@be2d16b (`compute_match_accuracy`):

    if pred == target: correct += 1
    if pred.startswith(target) or target.startswith(pred): relaxed_correct += 1
    if pred in target or target in pred: very_relaxed_correct += 1

No lowercasing, stripping or punctuation removal is applied. One consequence of the official
definition: an empty prediction is a relaxed and a very-relaxed hit for every target
(`target.startswith("")` and `"" in target` are True). The `*_nonempty` versions are the same
tests, except that an output that is empty or only whitespace counts as wrong. We report both side
by side; the plain names are the official numbers.
"""

from __future__ import annotations

MATCH_METRICS: tuple[str, ...] = ("exact_match", "relaxed_match", "very_relaxed_match")
NONEMPTY_METRICS: tuple[str, ...] = tuple(f"{name}_nonempty" for name in MATCH_METRICS)


def exact_match(prediction: str, target: str) -> float:
    return float(prediction == target)


def relaxed_match(prediction: str, target: str) -> float:
    return float(prediction.startswith(target) or target.startswith(prediction))


def very_relaxed_match(prediction: str, target: str) -> float:
    return float(prediction in target or target in prediction)


def match_scores(prediction: str | None, target: str) -> dict[str, float]:
    """The three official match scores and their `*_nonempty` versions for one item.

    A missing prediction (None, e.g. a model error) is scored as the empty string would be by the
    official code.
    """
    prediction = "" if prediction is None else prediction
    scores = {
        "exact_match": exact_match(prediction, target),
        "relaxed_match": relaxed_match(prediction, target),
        "very_relaxed_match": very_relaxed_match(prediction, target),
    }
    empty = not prediction.strip()
    for name in MATCH_METRICS:
        scores[f"{name}_nonempty"] = 0.0 if empty else scores[name]
    return scores
