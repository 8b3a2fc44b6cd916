"""The read-outs softmax(z / T) and softmax(z / T_z + l / T_l) against NumPy closed forms."""
import numpy as np
import pytest

from lib_tf.readout.forms import rule_consistent, softmax_two_temperatures, softmax_with_temperature


def _closed_form(a):
    e = np.exp(a)
    return e / e.sum(axis=1, keepdims=True)


def test_two_temperatures_is_the_closed_form_and_holds_both_parents():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(7, 4))
    labels = (rng.random((7, 4)) > 0.5).astype(float)
    np.testing.assert_allclose(softmax_two_temperatures(z, labels, 2.0, 0.5), _closed_form(z / 2.0 + labels / 0.5), atol=1e-12)
    np.testing.assert_allclose(softmax_two_temperatures(z, labels, 1.5, np.inf), softmax_with_temperature(z, 1.5), atol=1e-12)
    np.testing.assert_allclose(softmax_two_temperatures(z, labels, np.inf, 3.0), _closed_form(labels / 3.0), atol=1e-12)
    # large logits do not overflow
    assert np.isfinite(softmax_two_temperatures(z * 1e4, labels, 0.5, 0.5)).all()


@pytest.mark.parametrize("tz, tl, pattern", [(0.0, 1.0, "logits_temperature"), (1.0, -1.0, "labels_temperature"),
                                            (np.inf, np.inf, "both be inf")])
def test_two_temperatures_refuses_bad_temperatures(tz, tl, pattern):
    with pytest.raises(ValueError, match=pattern):
        softmax_two_temperatures(np.zeros((2, 3)), np.ones((2, 3)), tz, tl)


def test_two_temperatures_names_mismatched_shapes():
    with pytest.raises(ValueError, match=r"logits \(2, 3\) and logical_labels \(2, 4\)"):
        softmax_two_temperatures(np.zeros((2, 3)), np.ones((2, 4)), 1.0, 1.0)


def _rule_interval(distributions, relevant):
    """The closed form of the rule's interval for one row: (lower, upper) of the relevant mass."""
    mass = distributions[relevant].sum()
    w, v = distributions[relevant] / mass, distributions[~relevant] / (1 - mass)
    upper = min(1.0, 0.5 / (1 - w.min()))
    lower = min(upper, max(0.5 + 1e-6, v.max() / (w.min() + v.max())))
    return lower, upper, w, v


def test_rule_consistent_moves_only_the_relevant_mass_and_only_outside_the_rule():
    rng = np.random.default_rng(1)
    P = rng.dirichlet(np.ones(5), size=200)
    L = (rng.random((200, 5)) < 0.4).astype(float)
    L[np.arange(200), rng.integers(0, 5, 200)] = 1.0  # every row has a relevant label
    L[0] = 1.0  # and one row has only relevant labels
    moved = rule_consistent(P, L)
    np.testing.assert_allclose(moved.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_array_equal(moved[0], P[0])
    changed = 0
    for row in range(1, 200):
        relevant = L[row] > 0.5
        if relevant.all():
            np.testing.assert_array_equal(moved[row], P[row])
            continue
        lower, upper, w, v = _rule_interval(P[row], relevant)
        mass = P[row][relevant].sum()
        expected_mass = min(max(mass, lower), upper)
        assert moved[row][relevant].sum() == pytest.approx(expected_mass, abs=1e-12)
        # the shares inside each group are kept
        np.testing.assert_allclose(moved[row][relevant] / expected_mass, w, atol=1e-12)
        np.testing.assert_allclose(moved[row][~relevant] / (1 - expected_mass), v, atol=1e-9)
        changed += not np.allclose(moved[row], P[row])
    assert 0 < changed < 199  # some rows lie inside the interval, some outside


def test_rule_consistent_label_softmax_binarises_back_into_its_labels():
    from lib_tf.data import binarize
    rng = np.random.default_rng(2)
    L = binarize(rng.dirichlet(np.ones(6) * 0.7, size=300))
    for t in (0.1, 1.0, 8.0):  # too peaked, about right, too flat: each is moved where the rule holds
        np.testing.assert_array_equal(binarize(rule_consistent(softmax_with_temperature(L, t), L)), L)
    assert not np.array_equal(binarize(softmax_with_temperature(L, 8.0)), L)  # without the move it does not


def test_consistency_loss_is_zero_exactly_on_distributions_that_binarise_into_the_labels():
    from lib_tf.data import binarize
    from lib_tf.readout.selection import consistency_loss

    D = np.random.default_rng(0).dirichlet(np.ones(3), size=40)
    L = binarize(D)
    assert consistency_loss(D, L) == 0  # the truth binarises into its own logical labels
    assert consistency_loss(np.full_like(D, 1 / 3), L) > 0


def test_rule_consistent_tensorflow_twin_equals_numpy():
    import tensorflow as tf

    from lib_tf.readout.tf_forms import rule_consistent as rule_consistent_tf

    rng = np.random.default_rng(3)
    P = rng.dirichlet(np.ones(4), size=100)
    L = (rng.random((100, 4)) < 0.5).astype(float)
    L[:, 0] = 1.0
    got = rule_consistent_tf(tf.constant(P, tf.float32), tf.constant(L, tf.float32)).numpy()
    np.testing.assert_allclose(got, rule_consistent(P, L), atol=2e-6)


def test_a_choice_on_a_grid_end_carries_the_grid_on():
    from lib_tf.readout.forms import TemperatureReadouts, TwoTemperatureReadouts
    from lib_tf.readout.selection import choose_extending

    form = TemperatureReadouts(grid=(0.5, 1.0, 2.0))
    # the value is best at T = 7: the grid grows by 4, 8 and 16, and stops once the choice (8) is inside
    chosen, value, wider, clipped = choose_extending(form, lambda f, t: abs(np.log(t / 7.0)))
    assert chosen == 8.0 and wider.grid == (0.5, 1.0, 2.0, 4.0, 8.0, 16.0) and not clipped
    # inside the grid: nothing changes; never past MAX_GRID_EXTENSIONS
    assert choose_extending(form, lambda f, t: abs(t - 1.0))[2] is form
    assert choose_extending(form, lambda f, t: -t)[3]  # still on the end after every extension
    pairs = TwoTemperatureReadouts(logit_grid=(1.0, 2.0), label_grid=(1.0, 2.0, float("inf")), drop_logits=False)
    _, _, wider, _ = choose_extending(pairs, lambda f, c: abs(c[0] - 3.5) + (0 if np.isinf(c[1]) else 1))
    assert wider.logit_grid == (1.0, 2.0, 4.0, 8.0) and wider.label_grid == (1.0, 2.0, float("inf"))
