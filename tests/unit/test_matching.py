"""GIMMICK match accuracies: goldens from floschne/gimmick src/gimmick/eval/metrics.py."""

from vlmcult.metrics.matching import match_scores


def test_exact_relaxed_very_relaxed_goldens() -> None:
    # (prediction, target) -> (exact, relaxed, very_relaxed), worked out from the three official tests.
    cases = {
        ("Hanbok", "Hanbok"): (1.0, 1.0, 1.0),
        ("Hanbok dress", "Hanbok"): (0.0, 1.0, 1.0),  # pred.startswith(target)
        ("Han", "Hanbok"): (0.0, 1.0, 1.0),  # target.startswith(pred)
        ("a Hanbok", "Hanbok"): (0.0, 0.0, 1.0),  # target in pred
        ("hanbok", "Hanbok"): (0.0, 0.0, 0.0),  # no lowercasing
        ("Hanbok ", "Hanbok"): (0.0, 1.0, 1.0),  # no stripping: startswith still holds
        (" Hanbok", "Hanbok"): (0.0, 0.0, 1.0),
        ("Hanbok.", "Hanbok"): (0.0, 1.0, 1.0),
        ("Kimono", "Hanbok"): (0.0, 0.0, 0.0),
    }
    for (pred, target), expected in cases.items():
        scores = match_scores(pred, target)
        got = (scores["exact_match"], scores["relaxed_match"], scores["very_relaxed_match"])
        assert got == expected, (pred, target, got)
        nonempty = (
            scores["exact_match_nonempty"],
            scores["relaxed_match_nonempty"],
            scores["very_relaxed_match_nonempty"],
        )
        assert nonempty == expected  # a non-empty output scores the same in both versions


def test_empty_output_is_a_relaxed_hit_officially_but_not_nonempty() -> None:
    scores = match_scores("", "Hanbok")
    assert scores["exact_match"] == 0.0
    assert scores["relaxed_match"] == 1.0  # "Hanbok".startswith("")
    assert scores["very_relaxed_match"] == 1.0  # "" in "Hanbok"
    assert scores["relaxed_match_nonempty"] == 0.0
    assert scores["very_relaxed_match_nonempty"] == 0.0
    # Whitespace only is empty for the *_nonempty versions; officially " " is a very-relaxed hit
    # for a target containing a space.
    spaced = match_scores(" ", "Dragon Boat")
    assert spaced["very_relaxed_match"] == 1.0 and spaced["very_relaxed_match_nonempty"] == 0.0
    # A missing output (model error) scores as "".
    assert match_scores(None, "x")["relaxed_match"] == 1.0


def test_mean_over_items_equals_official_accuracy() -> None:
    preds = ["Hanbok", "", "Kimono dress", "sari"]
    targets = ["Hanbok", "Sari", "Kimono", "Sari"]
    per_item = [match_scores(p, t) for p, t in zip(preds, targets)]
    mean = lambda name: sum(s[name] for s in per_item) / len(per_item)  # noqa: E731
    # Official counts: exact 1/4; relaxed: Hanbok, "", "Kimono dress" -> 3/4; very relaxed 3/4.
    assert mean("exact_match") == 0.25
    assert mean("relaxed_match") == 0.75
    assert mean("very_relaxed_match") == 0.75
    assert mean("relaxed_match_nonempty") == 0.5
