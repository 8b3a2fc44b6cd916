"""The interface every label enhancer shares: ``fit(X, L)``, ``transform(X)``, ``fit_transform``."""
from __future__ import annotations

import inspect

import numpy as np

from ..data.validation import (FLOAT64_SQUARES_RANGE, check_feature_range, check_features, check_logical_labels,
                               check_same_rows)


class NotFittedError(RuntimeError):
    """Raised when ``transform`` is called before ``fit``."""


class BaseEnhancer:
    """scikit-learn style base class for LE methods.

    Subclasses store their parameters in ``__init__`` (nothing else) and implement
    ``_fit(X, L)`` returning the recovered distributions ``(n, c)`` of the training
    instances. Inductive methods (a model of ``x``) set ``inductive = True`` and implement
    ``_predict(X)``; transductive ones (graphs, clustering) answer ``transform`` only for the
    instances they were fitted on.

    Fitted state: ``distributions_`` (n, c), ``n_features_in_``, ``n_labels_``.
    """

    inductive = False
    #: Feature magnitudes the method computes with (see ``lib_tf.data.validation``); None: any.
    feature_range = FLOAT64_SQUARES_RANGE
    #: Fewest labels (columns of L) the method takes.
    min_labels = 1

    def _fit(self, X: np.ndarray, L: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _predict(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def fit(self, X, L):
        """Recover label distributions for features ``X`` (n, d) and logical labels ``L`` (n, c)."""
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
        if not hasattr(self, "distributions_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet; call fit(X, L) first")
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

    @classmethod
    def _param_names(cls):
        signature = inspect.signature(cls.__init__)
        # *args/**kwargs are not parameters (object.__init__ has both: classes without their own)
        return [p.name for p in signature.parameters.values()
                if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]

    def get_params(self, deep: bool = True) -> dict:
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        valid = set(self._param_names())
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"invalid parameter {name!r} for {type(self).__name__}; valid: {sorted(valid)}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"
