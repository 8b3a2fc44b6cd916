import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from lib_tf.metrics import METRIC_NAMES, average_ranks, canberra, chebyshev, clark, cosine, intersection, kullback_leibler, score

D = np.array([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]])
P = np.array([[0.4, 0.4, 0.2], [0.2, 0.0, 0.8]])


def test_hand_computed_values():
    assert chebyshev(D, P) == pytest.approx((0.1 + 0.1) / 2)
    clark_rows = [np.sqrt((0.1 / 0.9) ** 2 + (0.1 / 0.7) ** 2), np.sqrt((0.1 / 0.3) ** 2 + 1.0)]
    assert clark(D, P) == pytest.approx(np.mean(clark_rows))
    canberra_rows = [0.1 / 0.9 + 0.1 / 0.7, 0.1 / 0.3 + 1.0]
    assert canberra(D, P) == pytest.approx(np.mean(canberra_rows))
    kl_rows = [0.5 * np.log(0.5 / 0.4) + 0.3 * np.log(0.3 / 0.4),
               0.1 * np.log(0.1 / 0.2) + 0.1 * np.log(0.1 / 1e-12)]
    assert kullback_leibler(D, P) == pytest.approx(np.mean(kl_rows))
    cos_rows = [(0.2 + 0.12 + 0.04) / (np.linalg.norm(D[0]) * np.linalg.norm(P[0])),
                (0.02 + 0.64) / (np.linalg.norm(D[1]) * np.linalg.norm(P[1]))]
    assert cosine(D, P) == pytest.approx(np.mean(cos_rows))
    assert intersection(D, P) == pytest.approx((0.4 + 0.3 + 0.2 + 0.1 + 0.0 + 0.8) / 2)


def test_zero_over_zero_counts_as_zero():
    truth = np.array([[0.0, 1.0]])
    assert clark(truth, truth) == 0.0 and canberra(truth, truth) == 0.0 and kullback_leibler(truth, truth) == 0.0


def test_per_instance_values():
    per_row = chebyshev(D, P, average=False)
    assert per_row.shape == (2,)
    np.testing.assert_allclose(per_row, [0.1, 0.1])


def test_score_returns_all_six_in_order():
    assert tuple(score(D, P)) == METRIC_NAMES


def test_shape_mismatch_is_refused():
    with pytest.raises(ValueError, match=r"shapes differ: D is \(2, 3\), D_hat is \(2, 2\)"):
        score(D, P[:, :2])


distributions = arrays(np.float64, (4, 3), elements=st.floats(0.01, 1.0)).map(lambda a: a / a.sum(1, keepdims=True))


@settings(max_examples=50, deadline=None)
@given(distributions, distributions)
def test_known_properties(first, second):
    same = score(first, first)
    for name in ("Chebyshev", "Clark", "Canberra", "Kullback-Leibler"):
        assert same[name] == pytest.approx(0.0, abs=1e-12)
    assert same["Cosine"] == pytest.approx(1.0) and same["Intersection"] == pytest.approx(1.0)
    values = score(first, second)
    c = first.shape[1]
    assert 0 <= values["Chebyshev"] <= 1 and 0 <= values["Intersection"] <= 1 + 1e-12
    assert 0 <= values["Clark"] <= np.sqrt(c) and 0 <= values["Canberra"] <= c
    assert values["Kullback-Leibler"] >= -1e-12 and 0 <= values["Cosine"] <= 1 + 1e-12
    swapped = score(second, first)
    for name in ("Chebyshev", "Clark", "Canberra", "Cosine", "Intersection"):
        assert swapped[name] == pytest.approx(values[name])


def test_intersection_is_one_minus_half_l1():
    assert intersection(D, P) == pytest.approx(1 - 0.5 * np.abs(D - P).sum(1).mean())


def test_average_ranks_with_ties():
    table = {
        "a": {"m1": 0.1, "m2": 0.1, "m3": 0.3},
        "b": {"m1": 0.3, "m2": 0.2, "m3": 0.1},
    }
    assert average_ranks(table, "Chebyshev") == {"m1": (1.5 + 3) / 2, "m2": (1.5 + 2) / 2, "m3": (3 + 1) / 2}
    assert average_ranks(table, "Cosine") == {"m1": (2.5 + 1) / 2, "m2": (2.5 + 2) / 2, "m3": (1 + 3) / 2}


def test_average_ranks_refuses_ragged_tables():
    with pytest.raises(ValueError, match="data set 'b' lists methods"):
        average_ranks({"a": {"m1": 1, "m2": 2}, "b": {"m1": 1}}, "Chebyshev")
    with pytest.raises(ValueError, match="unknown metric"):
        average_ranks({"a": {"m1": 1}}, "Accuracy")
