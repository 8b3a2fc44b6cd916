"""The binarisation posterior: what a row's logical labels say about the distribution behind them.

An LE data set's logical labels are a deterministic function of the unknown distributions
(:func:`lib_tf.data.binarize`: per row, the smallest top set of labels whose degrees sum past
one half). Given a model's logits ``z`` (n, c), this module models each row's log-degrees as

    u_j = slope_j * z_j + noise_j * e_j,   e_j ~ N(0, 1) independent,   d = softmax(u)

and conditions on what was observed, ``binarize(d) == l``. Under this model the posterior mean
``E[d | z, l]`` is the read-out with the least expected Kullback-Leibler divergence to the
truth, and the expected divergence of any candidate read-out (:meth:`BinarisationPosterior.
expected_kl`) is an estimate of its divergence to the truth made without the truth.

``slope`` and ``noise`` (one per label) are fitted from the labels alone by Monte-Carlo EM:
the E-step samples every row's ``u`` given its labels, the M-step regresses the samples on
``z``. For the fit to be honest, ``z`` should be logits the model computed without the row's
own label (:class:`lib_tf.LabelEnhancer` cross-fits them). What the labels say about the
overall scale of ``u`` comes only from how many labels each row needed: where that never
binds (every row's count is the only one possible at every plausible scale), the scale is
not identified, and the posterior averages over the scales the counts allow (see
:data:`SCALE_OCTAVES`); ``scale_identified`` says which case held.

Rows are conditionally independent, so a Gibbs sampler updates every row at once, one label at
a time (each label's conditional is a normal truncated to an interval), with two block moves
that keep it mixing inside the thin region the rule leaves: the level of the whole row (which
the rule ignores) and a common shift of the relevant labels.

NumPy only.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import ndtr, ndtri

#: How far below the largest scale the counts allow the posterior looks when they do not pin
#: it from below: a log-uniform prior over [edge / 2**SCALE_OCTAVES, edge].
SCALE_OCTAVES = 3
#: Relative scales at which the count likelihood is profiled (powers of two around the fit).
SCALE_STEPS = 2.0 ** np.arange(-6, 7, 0.5)


def _softmax(scores):
    scores = scores - scores.max(axis=1, keepdims=True)
    weights = np.exp(scores)
    return weights / weights.sum(axis=1, keepdims=True)


def _centred(values):
    return values - values.mean(axis=1, keepdims=True)


def label_counts(distributions, threshold=0.5):
    """How many labels the binarisation rule marks relevant in each row of ``distributions`` (n, c) -> (n,)."""
    ordered = -np.sort(-distributions, axis=1)
    mass_before = np.cumsum(ordered, axis=1) - ordered
    return (mass_before <= threshold).sum(axis=1)


def solvable_rows(logical_labels):
    """Rows (n,) bool whose labels some distribution without ties binarises into: a row with k
    of c labels relevant needs 2 (k - 1) < c (its top k - 1 hold at most half the mass, so
    they average at most 1 / (2 (k - 1)), yet at least the mean 1 / c)."""
    relevant = logical_labels > 0.5
    k = relevant.sum(axis=1)
    return (k >= 1) & (k < relevant.shape[1]) & (2 * (k - 1) < relevant.shape[1])


def _start(logical_labels, prior_mean, solvable):
    """A log-degree vector (n, c) inside each solvable row's region: uniform within the
    relevant set and within the rest, the relevant mass halfway through its interval, at the
    prior's level."""
    relevant = logical_labels > 0.5
    n, c = relevant.shape
    k = relevant.sum(axis=1).astype(float)
    lowest = np.maximum(0.5, k / c)
    highest = np.where(k > 1, np.minimum(1.0, k / np.maximum(2 * (k - 1), 1)), 1.0)
    mass = np.where(solvable, 0.5 * (lowest + np.minimum(highest, 0.99)), 0.5)
    share = np.where(relevant, mass[:, None] / np.maximum(k, 1)[:, None],
                     (1 - mass[:, None]) / np.maximum(c - k, 1)[:, None])
    u = np.log(np.maximum(share, 1e-300))
    return _centred(u) + prior_mean.mean(axis=1, keepdims=True)


def _truncated_normal(mean, sd, low, high, rng):
    """One draw per element of N(mean, sd^2) truncated to [low, high] (bounds may be infinite),
    by the inverse CDF on the side of the lighter tail."""
    a, b = (low - mean) / sd, (high - mean) / sd
    upper_tail = a > 0  # sample -x from the mirrored interval, where the CDF keeps its precision
    p_low = np.where(upper_tail, ndtr(-b), ndtr(a))
    p_high = np.where(upper_tail, ndtr(-a), ndtr(b))
    p = np.clip(p_low + rng.uniform(size=np.shape(mean)) * (p_high - p_low), 1e-300, 1 - 1e-16)
    x = np.where(upper_tail, -ndtri(p), ndtri(p))
    x = np.clip(x, a, b)
    x = np.where(np.isfinite(x), x, np.where(np.isfinite(a), a, b))
    return mean + sd * x


def _label_sweep(u, prior_mean, noise, relevant, solvable, rng):
    """Each label of every row drawn from its conditional given the row's other labels: the
    prior normal truncated to where the row still binarises into its labels.

    With A and B the relevant and other masses (unnormalised), m the smallest relevant one:
    the rule holds iff every relevant degree is at least every other one, B < A and
    A - 2 m <= B (the top k - 1 hold at most half). Solved for one label, each is an interval.
    """
    n, c = u.shape
    for j in range(c):
        top = u.max(axis=1, keepdims=True)
        e = np.exp(u - top)
        is_relevant = relevant[:, j]
        e_j = e[:, j]
        A_others = np.where(relevant, e, 0.0).sum(axis=1) - np.where(is_relevant, e_j, 0.0)
        B_others = np.where(relevant, 0.0, e).sum(axis=1) - np.where(is_relevant, 0.0, e_j)
        others = np.ones(c, bool)
        others[j] = False
        smallest_other_relevant = np.where(relevant & others, e, np.inf).min(axis=1)
        largest_other_rest = np.maximum(np.where(~relevant & others, e, -np.inf).max(axis=1), 0.0)
        smallest_relevant = np.where(relevant, e, np.inf).min(axis=1)
        # an irrelevant label: below every relevant one, B < A and A - 2 m <= B
        low_rest = np.maximum(0.0, A_others - 2 * smallest_relevant - B_others)
        high_rest = np.minimum(A_others - B_others, smallest_relevant)
        # a relevant label: above the rest, B < A, and A - 2 m <= B with m = min(e_j, m')
        m = smallest_other_relevant
        single = ~np.isfinite(m)
        m_finite = np.where(single, 0.0, m)
        low_relevant = np.maximum(np.maximum(largest_other_rest, B_others - A_others),
                                  np.where(single, -np.inf, np.minimum(A_others - B_others, m_finite)))
        high_relevant = np.where(single, np.inf, np.maximum(m_finite, B_others + 2 * m_finite - A_others))
        low = np.where(is_relevant, low_relevant, low_rest)
        high = np.where(is_relevant, high_relevant, high_rest)
        with np.errstate(divide="ignore"):
            log_low, log_high = np.log(np.maximum(low, 0.0)) + top[:, 0], np.log(high) + top[:, 0]
        movable = solvable & (log_high > log_low)
        drawn = _truncated_normal(prior_mean[:, j], noise[j], log_low, log_high, rng)
        u[:, j] = np.where(movable, drawn, u[:, j])
    return u


def _level_move(u, prior_mean, precision, rng):
    """Shift whole rows by their exact conditional (the rule does not see a row's level)."""
    total = precision.sum()
    shift = ((prior_mean - u) * precision).sum(axis=1) / total + rng.standard_normal(len(u)) / np.sqrt(total)
    return u + shift[:, None]


def _relevant_shift_move(u, prior_mean, precision, relevant, solvable, rng):
    """Shift every relevant label of a row by one amount drawn from its truncated conditional:
    moves the relevant mass without changing the shares within either group."""
    top = u.max(axis=1, keepdims=True)
    e = np.exp(u - top)
    A = np.where(relevant, e, 0.0).sum(axis=1)
    B = np.where(relevant, 0.0, e).sum(axis=1)
    smallest = np.where(relevant, e, np.inf).min(axis=1)
    gap = np.where(relevant, -np.inf, u).max(axis=1) - np.where(relevant, u, np.inf).min(axis=1)
    excess = A - 2 * smallest
    with np.errstate(divide="ignore", invalid="ignore"):
        low = np.maximum(gap, np.log(B / A))
        high = np.where(excess > 0, np.log(B / np.where(excess > 0, excess, 1.0)), np.inf)
    weight = np.where(relevant, precision, 0.0).sum(axis=1)
    mean = np.where(relevant, (prior_mean - u) * precision, 0.0).sum(axis=1) / weight
    shift = _truncated_normal(mean, 1 / np.sqrt(weight), low, high, rng)
    movable = solvable & (high > low) & np.isfinite(shift)
    return u + np.where(movable[:, None] & relevant, shift[:, None], 0.0)


def _sweep(u, prior_mean, noise, relevant, solvable, rng):
    precision = 1.0 / noise ** 2
    u = _level_move(u, prior_mean, precision, rng)
    u = _label_sweep(u, prior_mean, noise, relevant, solvable, rng)
    return _relevant_shift_move(u, prior_mean, precision, relevant, solvable, rng)


def fit_noise_model(logits, logical_labels, iterations=30, sweeps=4, shared_iterations=5, random_state=0):
    """``(slope (c,), noise (c,))`` of the model in the module docstring, fitted to the logical
    labels by Monte-Carlo EM (``iterations`` rounds of ``sweeps`` Gibbs sweeps each; the first
    ``shared_iterations`` fit one slope and noise for all labels, as a start)."""
    rng = np.random.default_rng(random_state)
    z = _centred(np.asarray(logits, dtype=np.float64))
    labels = np.asarray(logical_labels) > 0.5
    solvable = solvable_rows(labels)
    c = z.shape[1]
    slope, noise = np.ones(c), np.ones(c)
    u = _start(labels, slope * z, solvable)
    rows = solvable
    for iteration in range(iterations):
        for _ in range(sweeps):
            u = _sweep(u, slope * z, noise, labels, solvable, rng)
        # the complete-data fit of u ~ N(slope z, noise^2): u itself, not centred (the level
        # move samples each row's level from the prior; centring would lose 1/c of the noise)
        samples, predictors = u[rows], z[rows]
        if iteration < shared_iterations:
            shared = (samples * predictors).sum() / (predictors ** 2).sum()
            residual = np.sqrt(((samples - shared * predictors) ** 2).sum() / (samples.size - len(samples)))
            slope, noise = np.full(c, shared), np.full(c, residual)
        else:
            slope = (samples * predictors).sum(axis=0) / (predictors ** 2).sum(axis=0)
            noise = np.sqrt(((samples - slope * predictors) ** 2).mean(axis=0))
        noise = np.maximum(noise, 1e-4)
    return slope, noise


def count_log_likelihood(logits, logical_labels, slope, noise, draws=128, random_state=0):
    """log P(each solvable row needs as many labels as it has | the model), summed over rows,
    estimated from ``draws`` forward draws per row (add-half smoothing keeps it finite)."""
    rng = np.random.default_rng(random_state)
    z = _centred(np.asarray(logits, dtype=np.float64))
    labels = np.asarray(logical_labels) > 0.5
    rows = solvable_rows(labels)
    z, counts = z[rows], labels[rows].sum(axis=1)
    hits = np.zeros(len(z))
    for _ in range(draws):
        u = slope * z + noise * rng.standard_normal(z.shape)
        hits += label_counts(_softmax(u)) == counts
    return float(np.log((hits + 0.5) / (draws + 1.0)).sum())


def scale_weights(logits, logical_labels, slope, noise, draws=128, random_state=0):
    """``{relative scale: weight}``: the posterior over a common factor of slope and noise, from
    the count likelihood, under a log-uniform prior over [edge / 2**SCALE_OCTAVES, edge] with
    ``edge`` the largest scale the counts allow (within one nat of the best); and whether the
    counts pinned the scale from below (False: the prior decided)."""
    profile = np.array([count_log_likelihood(logits, logical_labels, step * slope, step * noise, draws, random_state)
                        for step in SCALE_STEPS])
    allowed = profile >= profile.max() - 1.0
    if allowed[-1]:  # the counts never bind: they say nothing of the scale; take the flattest
        return {float(SCALE_STEPS[0]): 1.0}, False
    edge = SCALE_STEPS[np.flatnonzero(allowed).max()]
    within = (SCALE_STEPS <= edge) & (SCALE_STEPS >= edge / 2.0 ** SCALE_OCTAVES)
    identified = not allowed[SCALE_STEPS == edge / 2.0 ** SCALE_OCTAVES].any() if within.any() else True
    if not identified:  # a flat prior over the octaves: whole octaves are enough to average over
        within &= np.isclose(np.log2(edge / SCALE_STEPS) % 1.0, 0.0)
    weights = np.where(within, np.exp(profile - profile[within].max()), 0.0)
    weights = weights / weights.sum()
    return {float(step): float(w) for step, w in zip(SCALE_STEPS, weights) if w > 1e-3}, bool(identified)


def posterior_moments(logits, logical_labels, slope, noise, sweeps=40, burn=15, random_state=0):
    """``(mean (n, c), negative entropy (n,))`` of d = softmax(u) given the labels, for the rows
    whose labels some tie-free distribution binarises into; the other rows are NaN."""
    rng = np.random.default_rng(random_state)
    z = _centred(np.asarray(logits, dtype=np.float64))
    labels = np.asarray(logical_labels) > 0.5
    solvable = solvable_rows(labels)
    prior_mean = slope * z
    u = _start(labels, prior_mean, solvable)
    mean, negative_entropy = np.zeros_like(z), np.zeros(len(z))
    for sweep in range(sweeps):
        u = _sweep(u, prior_mean, noise, labels, solvable, rng)
        if sweep >= burn:
            d = _softmax(u)
            mean += d
            negative_entropy += (d * np.log(np.maximum(d, 1e-300))).sum(axis=1)
    kept = sweeps - burn
    mean, negative_entropy = mean / kept, negative_entropy / kept
    mean[~solvable] = np.nan
    negative_entropy[~solvable] = np.nan
    return mean, negative_entropy


@dataclass
class BinarisationPosterior:
    """The fitted posterior of the distributions behind a data set's logical labels.

    Attributes
    ----------
    mean : ndarray (n, c)
        E[d | z, l]; a row no tie-free distribution binarises into holds the uniform
        distribution (its labels can only come from ties).
    negative_entropy : ndarray (n,)
        E[sum_j d_j log d_j | z, l].
    slope, noise : ndarray (c,)
    scales : dict
        Relative scale -> posterior weight (see :func:`scale_weights`).
    scale_identified : bool
    """

    mean: np.ndarray
    negative_entropy: np.ndarray
    slope: np.ndarray
    noise: np.ndarray
    scales: dict = field(default_factory=dict)
    scale_identified: bool = True

    def expected_kl(self, candidate, average=True):
        """E[KL(d || candidate) | z, l] per row (n,), or its mean: the truth-free criterion.
        candidate: distributions (n, c)."""
        candidate = np.clip(np.asarray(candidate, dtype=np.float64), 1e-12, None)
        with np.errstate(invalid="ignore"):
            per_row = self.negative_entropy - (self.mean * np.log(candidate)).sum(axis=1)
        return float(per_row.mean()) if average else per_row

    def hedge(self, readout):
        """``(mean + readout) / 2`` (n, c): what the truth-free fit gives its fitted instances, with
        ``readout`` (n, c) the model's read-out the criterion chose. The mean is the best guess
        under this posterior, so its own criterion can never rank anything above it, however
        wrong the posterior is; the average hedges between the two, and as KL(d || q) is convex
        in q its divergence to the truth is never above the average of theirs
        (``benchmarks/TRUTH_FREE.md``)."""
        readout = np.asarray(readout, dtype=np.float64)
        if readout.shape != self.mean.shape:
            raise ValueError(f"readout {readout.shape} must have the posterior's shape {self.mean.shape}")
        return (self.mean + readout) / 2.0


#: Rows the noise model and the scale are fitted on (a seeded sample of larger data sets):
#: two parameters per label need far fewer, and the sampler's cost grows with the rows.
MAX_FIT_ROWS = 1000


def fit_binarisation_posterior(fit_logits, logical_labels, read_logits=None, iterations=30, sweeps=40, burn=15,
                               max_fit_rows=MAX_FIT_ROWS, random_state=0):
    """The posterior of the distributions behind ``logical_labels`` (n, c).

    Parameters
    ----------
    fit_logits : array_like, shape (n, c)
        Logits the slope and noise are fitted on: made without each row's own label (held-out
        folds), so that they are as good a guess of the labels as they will be of the truth.
    logical_labels : array_like, shape (n, c)
    read_logits : array_like, shape (n, c), optional
        Logits the posterior is centred on (default ``fit_logits``), e.g. the full fit's.
    iterations, sweeps, burn : int
        EM rounds; Gibbs sweeps for the posterior and how many of them are discarded.
    max_fit_rows : int
        At most this many rows (a seeded sample) fit the slope, noise and scale.
    random_state : int

    Returns
    -------
    BinarisationPosterior
    """
    labels = np.asarray(logical_labels, dtype=np.float64)
    fit_logits = np.asarray(fit_logits, dtype=np.float64)
    if fit_logits.shape != labels.shape:
        raise ValueError(f"fit_logits {fit_logits.shape} and logical_labels {labels.shape} must have the same shape")
    read_logits = fit_logits if read_logits is None else np.asarray(read_logits, dtype=np.float64)
    if read_logits.shape != labels.shape:
        raise ValueError(f"read_logits {read_logits.shape} and logical_labels {labels.shape} must have the same shape")
    rows = np.random.default_rng(random_state).permutation(len(labels))[:max_fit_rows]
    slope, noise = fit_noise_model(fit_logits[rows], labels[rows], iterations=iterations, random_state=random_state)
    weights, identified = scale_weights(fit_logits[rows], labels[rows], slope, noise, random_state=random_state)
    mean, negative_entropy = 0.0, 0.0
    for step, weight in weights.items():
        part_mean, part_negative_entropy = posterior_moments(read_logits, labels, step * slope, step * noise, sweeps,
                                                             burn, random_state)
        mean = mean + weight * part_mean
        negative_entropy = negative_entropy + weight * part_negative_entropy
    total = sum(weights.values())
    mean, negative_entropy = mean / total, negative_entropy / total
    # A row no tie-free distribution binarises into (k of c relevant with 2 (k - 1) >= c) is
    # binarised from ties: with every degree equal, the stable sort marks the first k columns.
    unsolvable = ~solvable_rows(labels > 0.5)
    mean[unsolvable] = 1.0 / labels.shape[1]
    negative_entropy[unsolvable] = -np.log(labels.shape[1])
    return BinarisationPosterior(mean, negative_entropy, slope, noise, weights, identified)
