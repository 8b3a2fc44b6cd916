"""The binarisation posterior (lib_tf.readout.posterior) against closed forms and brute force."""
import numpy as np
import pytest

from lib_tf.data import binarize
from lib_tf.readout import posterior as bp


def _softmax(scores):
    scores = scores - scores.max(axis=1, keepdims=True)
    weights = np.exp(scores)
    return weights / weights.sum(axis=1, keepdims=True)


def _synthetic(n, c, slope, noise, seed=0, logit_scale=1.0):
    """Logits z, the truth d = softmax(slope z + noise e) and its logical labels."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, c)) * logit_scale
    truth = _softmax(slope * z + noise * rng.normal(size=(n, c)))
    return z, truth, binarize(truth)


def _kl(truth, estimate):
    return float(np.mean(np.sum(np.where(truth > 0, truth * np.log(truth / np.clip(estimate, 1e-12, None)), 0.0), axis=1)))


def test_label_counts_are_the_binarisation_rule():
    rng = np.random.default_rng(1)
    distributions = rng.dirichlet(np.ones(7), size=500)
    np.testing.assert_array_equal(bp.label_counts(distributions), binarize(distributions).sum(axis=1))


def test_solvable_rows_need_room_for_k_labels():
    labels = np.array([[1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 1, 1], [0, 0, 0, 0]], dtype=float)
    # k = 3 of 4 needs the top two to hold at most half, yet at least 2/4: only with ties
    np.testing.assert_array_equal(bp.solvable_rows(labels), [True, True, False, False, False])


def test_truncated_normal_stays_inside_and_matches_its_mean():
    rng = np.random.default_rng(2)
    mean, sd = np.zeros(200000), 1.0
    low, high = np.full(200000, 1.0), np.full(200000, 2.0)
    draws = bp._truncated_normal(mean, sd, low, high, rng)
    assert draws.min() >= 1.0 and draws.max() <= 2.0
    # E[x | 1 <= x <= 2] for a standard normal: (phi(1) - phi(2)) / (Phi(2) - Phi(1))
    from scipy.stats import norm
    expected = (norm.pdf(1) - norm.pdf(2)) / (norm.cdf(2) - norm.cdf(1))
    assert abs(draws.mean() - expected) < 0.005
    far = bp._truncated_normal(np.zeros(1000), 1.0, np.full(1000, 30.0), np.full(1000, np.inf), rng)
    assert np.all(far >= 30.0) and np.all(np.isfinite(far))


def test_posterior_mean_matches_rejection_sampling():
    z, _, labels = _synthetic(40, 4, slope=1.0, noise=0.5, seed=3)
    slope, noise = np.ones(4), np.full(4, 0.5)
    mean, _ = bp.posterior_moments(z, labels, slope, noise, sweeps=600, burn=100, random_state=4)
    rng = np.random.default_rng(5)
    reference = np.empty_like(mean)
    for i in range(len(z)):
        kept = []
        while len(kept) < 2000:
            draws = _softmax(z[i] + 0.5 * rng.normal(size=(20000, 4)))
            kept.extend(draws[(binarize(draws) == labels[i]).all(axis=1)])
        reference[i] = np.mean(kept[:2000], axis=0)
    assert np.abs(mean - reference).max() < 0.02


def test_posterior_mean_binarises_into_the_labels():
    z, _, labels = _synthetic(300, 6, slope=0.8, noise=0.4, seed=6)
    mean, negative_entropy = bp.posterior_moments(z, labels, np.full(6, 0.8), np.full(6, 0.4), random_state=7)
    solvable = bp.solvable_rows(labels)
    np.testing.assert_array_equal(binarize(mean[solvable]), labels[solvable])
    assert np.all(negative_entropy[solvable] <= 0) and np.all(negative_entropy[solvable] >= -np.log(6))


def test_fit_noise_model_recovers_the_generating_model():
    z, _, labels = _synthetic(1500, 6, slope=1.5, noise=0.5, seed=8)
    slope, noise = bp.fit_noise_model(z, labels, random_state=9)
    assert np.all(np.abs(slope / 1.5 - 1) < 0.25), slope
    assert np.all(np.abs(noise / 0.5 - 1) < 0.35), noise


def test_scale_is_identified_only_where_the_counts_bind():
    z, _, labels = _synthetic(1000, 6, slope=1.5, noise=0.5, seed=10)
    slope, noise = bp.fit_noise_model(z, labels, random_state=11)
    _, identified = bp.scale_weights(z, labels, slope, noise)
    assert identified  # k varies from 1 to 3: the counts bound the sharpness from both sides
    z, truth, labels = _synthetic(1000, 4, slope=0.15, noise=0.1, seed=12)
    assert np.all(labels.sum(axis=1) == 2)  # flat truths: every row needs two of four
    slope, noise = bp.fit_noise_model(z, labels, random_state=13)
    _, identified = bp.scale_weights(z, labels, slope, noise)
    assert not identified


def test_expected_kl_is_the_posterior_expectation():
    z, _, labels = _synthetic(200, 5, slope=1.0, noise=0.5, seed=14)
    posterior = bp.fit_binarisation_posterior(z, labels, iterations=10, random_state=15)
    candidate = _softmax(np.random.default_rng(16).normal(size=(200, 5)))
    expected = np.mean(posterior.negative_entropy - np.sum(posterior.mean * np.log(candidate), axis=1))
    assert posterior.expected_kl(candidate) == pytest.approx(expected)
    # Jensen: the mean is the candidate with the least expected KL
    assert posterior.expected_kl(posterior.mean) <= posterior.expected_kl(candidate)
    assert posterior.expected_kl(posterior.mean) >= 0


def test_hedge_averages_the_mean_and_a_readout_and_never_loses_to_both():
    z, truth, labels = _synthetic(300, 5, slope=1.0, noise=0.5, seed=19)
    posterior = bp.fit_binarisation_posterior(z, labels, iterations=10, random_state=20)
    readout = _softmax(0.5 * z)
    hedge = posterior.hedge(readout)
    np.testing.assert_allclose(hedge, 0.5 * posterior.mean + 0.5 * readout)
    np.testing.assert_allclose(hedge.sum(axis=1), 1.0)
    # KL is convex in its second argument: the hedge is never worse than the two on average
    assert _kl(truth, hedge) <= 0.5 * (_kl(truth, posterior.mean) + _kl(truth, readout))
    # and under the posterior it ranks between the mean and the read-out
    assert posterior.expected_kl(posterior.mean) <= posterior.expected_kl(hedge) <= posterior.expected_kl(readout)
    with pytest.raises(ValueError, match=r"readout \(300, 4\) must have the posterior's shape \(300, 5\)"):
        posterior.hedge(readout[:, :4])


def test_posterior_recovers_distributions_better_than_the_labels_alone():
    z, truth, labels = _synthetic(800, 6, slope=1.2, noise=0.4, seed=17)
    posterior = bp.fit_binarisation_posterior(z, labels, random_state=18)
    naive = labels / labels.sum(axis=1, keepdims=True)
    assert _kl(truth, posterior.mean) < 0.5 * _kl(truth, np.clip(naive, 1e-12, None))
    # and its criterion ranks a sharper and a flatter read-out of z as the truth does
    sharp, flat = _softmax(3.0 * z), _softmax(0.3 * z)
    assert (posterior.expected_kl(sharp) < posterior.expected_kl(flat)) == (_kl(truth, sharp) < _kl(truth, flat))
