"""The interface every label enhancer shares: ``fit(X, L)``, ``transform(X)``, ``fit_transform``."""
from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from .data.validation import (FLOAT64_SQUARES_RANGE, check_feature_range, check_features, check_logical_labels,
                               check_same_rows)

__all__ = ["BaseEnhancer", "POSITIVE_INT", "POSITIVE_FINITE", "NON_NEGATIVE_FINITE", "SEED"]

#: Parameter constraints the estimators share (entries of ``_parameter_constraints``).
POSITIVE_INT = Interval(Integral, 1, None, closed="left")
POSITIVE_FINITE = Interval(Real, 0, math.inf, closed="neither")
NON_NEGATIVE_FINITE = Interval(Real, 0, math.inf, closed="left")
#: A seed Keras and NumPy both take.
SEED = Interval(Integral, 0, 2**32 - 1, closed="both")


class BaseEnhancer(TransformerMixin, BaseEstimator):
    """scikit-learn estimator base class for label-enhancement (LE) methods.

    ``get_params``, ``set_params``, ``clone`` and ``repr`` are scikit-learn's. Subclasses store
    their constructor arguments unchanged in ``__init__`` (nothing else), declare them in
    ``_parameter_constraints`` (checked at ``fit``, see
    :mod:`sklearn.utils._param_validation`), and implement ``_fit(X, L)`` returning the
    recovered distributions ``(n, c)`` of the training instances. Inductive methods (a model of
    ``x``) set ``inductive = True`` and implement ``_predict(X)``; transductive ones (graphs,
    clustering) answer ``transform`` only for the instances they were fitted on.

    Attributes
    ----------
    distributions_ : ndarray of shape (n_samples, n_labels)
        Recovered label distributions of the training instances; rows sum to 1.
    n_features_in_ : int
        Number of features seen in ``fit``.
    n_labels_ : int
        Number of labels (columns of ``L``) seen in ``fit``.
    """

    inductive = False
    #: Feature magnitudes the method computes with (see ``lib_tf.data.validation``); None: any.
    feature_range = FLOAT64_SQUARES_RANGE
    #: Fewest labels (columns of L) the method takes.
    min_labels = 1
    #: Declared constraints of the constructor arguments, checked by ``fit``.
    _parameter_constraints: dict = {}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # fit needs L, a 0/1 matrix with a column per label (scikit-learn's "y", multi-output)
        tags.target_tags.required = True
        tags.target_tags.single_output = False
        tags.target_tags.multi_output = True
        tags.transformer_tags.preserves_dtype = []  # distributions are float64 whatever X is
        return tags

    def _fit(self, X: np.ndarray, L: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _predict(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def fit(self, X, L):
        """Recover label distributions for features ``X`` (n, d) and logical labels ``L`` (n, c).

        Returns ``self``. Invalid constructor arguments raise
        ``sklearn.utils._param_validation.InvalidParameterError`` (a ValueError) naming the
        argument, before any work.
        """
        self._validate_params()
        if L is None:  # scikit-learn's wording for a missing y, then ours
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None: "
                             "fit(X, L) needs the logical labels L (n, c)")
        X = self._check_features(X)
        L = check_logical_labels(L, "L")
        check_same_rows(X=X, L=L)
        if L.shape[1] < self.min_labels:
            raise ValueError(f"L has {L.shape[1]} label (column); {type(self).__name__} needs at least "
                             f"{self.min_labels} (with one label every distribution is [1])")
        distributions = np.asarray(self._fit(X, L), dtype=np.float64)
        if distributions.shape != L.shape:
            raise RuntimeError(f"{type(self).__name__} produced shape {distributions.shape}, expected {L.shape}")
        broken = ~np.isfinite(distributions).all(axis=1)
        if broken.any():  # a bug or an input the method's own checks missed: never returned silently
            raise RuntimeError(f"{type(self).__name__} produced non-finite distributions (first in row "
                               f"{int(np.flatnonzero(broken)[0])}) for this X and L")
        self.distributions_ = distributions
        self.n_features_in_ = X.shape[1]
        self.n_labels_ = L.shape[1]
        self._fitted_X = X
        return self

    def transform(self, X) -> np.ndarray:
        """Label distributions (n, c) for ``X``: the fitted instances, or new ones if inductive."""
        self._check_fitted()
        X = self._check_features(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} was fitted with {self.n_features_in_}")
        if self.inductive:
            distributions = np.asarray(self._predict(X), dtype=np.float64)
            broken = ~np.isfinite(distributions).all(axis=1)
            if broken.any():
                raise ValueError(f"X row {int(np.flatnonzero(broken)[0])} gives non-finite distributions: its features "
                                 f"lie too far from those {type(self).__name__} was fitted on")
            return distributions
        if X.shape == self._fitted_X.shape and np.array_equal(X, self._fitted_X):
            return self.distributions_.copy()
        raise ValueError(
            f"{type(self).__name__} is transductive: transform(X) accepts only the X it was fitted on; "
            "call fit_transform on the new instances"
        )

    def _check_features(self, X) -> np.ndarray:
        X = check_features(X, "X")
        return X if self.feature_range is None else check_feature_range(X, self.feature_range, "X")

    def fit_transform(self, X, L) -> np.ndarray:
        """``fit(X, L)`` then the recovered distributions of the same instances (n, c)."""
        return self.fit(X, L).distributions_.copy()

    def _check_fitted(self):
        """Raise :class:`sklearn.exceptions.NotFittedError` unless ``fit`` has run."""
        check_is_fitted(self, "distributions_",
                        msg=f"{type(self).__name__} is not fitted yet; call fit(X, L) first")
