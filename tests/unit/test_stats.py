import numpy as np
import pytest

from vlmcult import stats


def test_bootstrap_ci_of_two_points_is_hand_computable():
    # Resampled means of [0, 1] are 0, 0.5, 1 with probabilities 1/4, 1/2, 1/4: the 2.5th and
    # 97.5th percentiles of 1,000 of them are 0 and 1.
    assert stats.bootstrap_ci([0.0, 1.0], n_resamples=1000, seed=0) == (0.0, 1.0)


def test_bootstrap_ci_constant_and_single_and_empty():
    assert stats.bootstrap_ci([1.0, 1.0, 1.0]) == (1.0, 1.0)
    assert stats.bootstrap_ci([0.25]) == (0.25, 0.25)
    assert stats.bootstrap_ci([]) is None


def test_bootstrap_ci_is_seeded_and_matches_a_direct_computation():
    values = np.array([1, 0, 1, 1, 0, 1, 1, 1, 0, 1], dtype=float)
    first = stats.bootstrap_ci(values, n_resamples=500, seed=7)
    assert first == stats.bootstrap_ci(values, n_resamples=500, seed=7)
    rng = np.random.default_rng(7)
    means = values[rng.integers(0, 10, size=(500, 10))].mean(axis=1)
    assert first == pytest.approx(tuple(np.percentile(means, [2.5, 97.5])))
    assert first[0] <= values.mean() <= first[1]


def _record(sample_id, score, country, error=None):
    return {"id": sample_id, "scores": {"accuracy": score}, "groups": {"country": country},
            "error": error, "target": 0}


def test_aggregate_overall_and_groups_skip_unscored_and_errors():
    records = [_record("a", 1.0, "Japan"), _record("b", 0.0, "Japan"), _record("c", 1.0, "India"),
               _record("d", None, "India"), _record("e", None, "India", error="bad image")]
    overall, groups = stats.aggregate(records, ["accuracy"], ["country"], n_resamples=200)
    assert overall["accuracy"]["value"] == pytest.approx(2 / 3)
    assert overall["accuracy"]["n"] == 3
    assert groups["country"]["Japan"]["accuracy"]["value"] == 0.5
    assert groups["country"]["India"]["accuracy"] == {"value": 1.0, "ci95": [1.0, 1.0], "n": 1}


def test_list_group_values_count_in_each_group():
    records = [{"id": "x", "scores": {"m": 1.0}, "groups": {"region": ["Arab States", "Asian and Pacific States"]},
                "error": None, "target": "t"}]
    _, groups = stats.aggregate(records, ["m"], ["region"], n_resamples=10)
    assert set(groups["region"]) == {"Arab States", "Asian and Pacific States"}


def test_corpus_metric_is_recomputed_on_resamples():
    records = [{"id": str(i), "scores": {}, "groups": {}, "error": None, "target": 1, "v": v}
               for i, v in enumerate([2.0, 4.0])]
    overall, _ = stats.aggregate(records, [], [], {"total": lambda rs: sum(r["v"] for r in rs)}, n_resamples=1000)
    # resampled sums of two draws from {2, 4}: 4, 6, 8 with probs 1/4, 1/2, 1/4
    assert overall["total"] == {"value": 6.0, "ci95": [4.0, 8.0], "n": 2}


def test_paired_difference_hand_values():
    a = [_record("1", 0.0, "Nigeria"), _record("2", 1.0, "Nigeria"), _record("3", 0.0, "India"), _record("9", 1.0, "India")]
    b = [_record("1", 1.0, "Nigeria"), _record("2", 1.0, "Nigeria"), _record("3", 0.0, "India"), _record("4", 1.0, "India")]
    result = stats.paired_difference(a, b, "accuracy", ["country"], n_resamples=1000)
    assert result["overall"]["n"] == 3  # ids 1, 2, 3 only
    assert result["overall"]["diff"] == pytest.approx(1 / 3)
    assert result["groups"]["country"]["Nigeria"]["diff"] == 0.5
    assert result["groups"]["country"]["Nigeria"]["ci95"] == [0.0, 1.0]
    assert result["groups"]["country"]["India"]["diff"] == 0.0
