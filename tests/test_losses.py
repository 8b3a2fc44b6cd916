import numpy as np
import pytest
import tensorflow as tf

from lib_tf.model import losses

rng = np.random.default_rng(0)
L = (rng.random((5, 4)) > 0.5).astype(np.float32)
L[:, 0] = 1.0
OUT = rng.normal(size=(5, 4)).astype(np.float32)
SIGMA = rng.uniform(0.2, 2.0, size=(5, 1)).astype(np.float32)


@pytest.mark.parametrize("reduction, divisor", [("sum", 1.0), ("mean", 4.0)])
def test_squared_assignment(reduction, divisor):
    expected = 0.5 * ((OUT - L) ** 2).sum(1) / divisor
    np.testing.assert_allclose(losses.squared_assignment(L, OUT, reduction).numpy(), expected, rtol=1e-6)


@pytest.mark.parametrize("reduction, divisor", [("sum", 1.0), ("mean", 4.0)])
def test_cross_entropy_assignment(reduction, divisor):
    log_softmax = OUT - np.log(np.exp(OUT).sum(1, keepdims=True))
    targets = L / L.sum(1, keepdims=True)
    expected = -(targets * log_softmax).sum(1) / divisor
    np.testing.assert_allclose(losses.cross_entropy_assignment(L, OUT, reduction).numpy(), expected, rtol=1e-5)


def test_gap_term_closed_form():
    variance = SIGMA[:, 0] ** 2
    expected_sum = 0.5 * ((L - OUT) ** 2).sum(1) / variance + 4 * np.log(variance)
    np.testing.assert_allclose(losses.gap_term(L, OUT, SIGMA, "sum").numpy(), expected_sum, rtol=1e-5)
    np.testing.assert_allclose(losses.gap_term(L, OUT, SIGMA, "mean").numpy(), expected_sum / 4, rtol=1e-5)


def test_gap_term_is_smallest_at_the_residual_variance():
    # d/ds [r^2 / (2 s) + c log s] = 0 at s = r^2 / (2 c)
    residual = float(((L[0] - OUT[0]) ** 2).sum())
    best = np.sqrt(residual / (2 * 4))
    values = [losses.gap_term(L[:1], OUT[:1], np.array([[s]], np.float32), "sum").numpy()[0] for s in (0.8 * best, best, 1.25 * best)]
    assert values[1] < values[0] and values[1] < values[2]


def test_kl_matches_the_analytic_gaussian_kl():
    mean = rng.normal(size=(3, 6)).astype(np.float32)
    scale = rng.uniform(0.3, 1.7, size=(3, 6)).astype(np.float32)
    expected = 0.5 * (mean**2 + scale**2 - 1 - 2 * np.log(scale)).sum(1)
    posterior = losses.posterior(tf.constant(mean), tf.constant(scale))
    np.testing.assert_allclose(losses.kl_to_standard_normal(posterior, "sum").numpy(), expected, rtol=1e-5)
    np.testing.assert_allclose(losses.kl_to_standard_normal(posterior, "mean").numpy(), expected / 6, rtol=1e-5)
    assert losses.kl_to_standard_normal(losses.posterior(tf.zeros((2, 6)), tf.ones((2, 6)))).numpy() == pytest.approx([0, 0], abs=1e-6)
