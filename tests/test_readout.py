"""The read-outs softmax(z / T) and softmax(z / T_z + l / T_l) against NumPy closed forms."""
import numpy as np
import pytest

from lib_tf.readout import softmax_two_temperatures, softmax_with_temperature


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
