"""``LabelEnhancer``: LIB behind the scikit-learn style interface of every baseline."""
from __future__ import annotations

import math

import numpy as np

from .baselines.base import BaseEnhancer
from .readout import (FEATURE_TEMPERATURE_GRID, LABEL_TEMPERATURE_GRID, TEMPERATURE_GRID, softmax_two_temperatures,
                      softmax_with_temperature, two_temperature_pairs)
from .data.validation import FLOAT32_RANGE, check_distributions, check_logical_labels, check_same_rows
from .model.epochs import auto_epochs
from .presets import preset_hparams

#: The models LabelEnhancer fits: the paper's LIB, or LIB whose posterior reads the labels too.
MODELS = ("paper", "label-aware")
#: The label-aware model's network sizes: narrower than the paper's 256, which measured better
#: on 3 of 4 data sets and about 2x faster (benchmarks/LABEL_AWARE.md).
LABEL_AWARE_SIZES = {"latent_dim": 64, "head_units": 64}
#: The label-aware model's shipped settings (:meth:`LabelEnhancer.label_aware`): the grid point
#: and read-out temperatures that ``lib-tf benchmark`` chooses with no ground truth of the data
#: set at hand, here on all 13 paper data sets (``benchmarks/label_aware_defaults.py`` prints
#: the choice; benchmarks/LABEL_AWARE.md).
LABEL_AWARE_DEFAULTS = {"model": "label-aware", "alpha": 1.0, "beta": 10.0, **LABEL_AWARE_SIZES, "label_dropout": 0.5,
                        "temperature": 6.0, "label_temperature": 6.0}


class LabelEnhancer(BaseEnhancer):
    """Label enhancement with LIB: ``fit(X, L)`` then ``transform(X)`` -> distributions (n, c).

    ``model``: ``"paper"`` fits :class:`lib_tf.model.LIB`; ``"label-aware"`` fits
    :class:`lib_tf.model.LabelAwareLIB`, whose posterior reads each instance's logical labels
    too and whose read-out ``rule_consistent(softmax(z / T + l / T_l), l)`` uses them (with
    ``rule_projection``), so it needs ``L`` wherever it reads out; ``label_dropout`` hides that
    share of the labels from its encoder during training. :meth:`label_aware` gives it with
    its shipped settings. Parameters are those of
    :class:`lib_tf.model.LIB` (alpha weights the gap term, beta the
    KL term) plus training settings: ``epochs`` (None: about 2000 Adam steps, between 20 and
    300 epochs), ``batch_size``, ``learning_rate``, ``seed`` and ``verbose`` (0 silent,
    1 a progress bar over epochs). ``label_temperature`` (None: the paper's read-out
    ``softmax(z / T)``) reads out ``softmax(z / T + l / label_temperature)``: each instance's own
    logical labels join the model's logits (see :func:`lib_tf.readout.softmax_two_temperatures`),
    so ``transform`` then needs ``L``; :meth:`select_temperature` with ``L`` picks both
    temperatures. Fitted state: ``model_`` (the trained Keras model),
    ``epochs_`` (epochs run), ``history_`` (one entry per graph call: small data sets run
    several epochs per call, up to about 32 steps), ``distributions_`` of the training instances.
    """

    inductive = True
    feature_range = FLOAT32_RANGE
    min_labels = 2  # a softmax over one label has nothing to learn

    def __init__(self, alpha=0.001, beta=1.0, temperature=1.0, label_temperature=None, epochs=None, batch_size=128, learning_rate=1e-3,
                 latent_dim=256, hidden_units=256, depth=3, head_units=None, activation="sigmoid", assignment="squared",
                 gap_on="logits", reduction="mean", pretrain_epochs=0, network_dtype="float32", seed=None, verbose=0,
                 model="paper", rule_projection=True, label_dropout=0.0):
        self.alpha = alpha
        self.beta = beta
        self.temperature = temperature
        self.label_temperature = label_temperature
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.latent_dim = latent_dim
        self.hidden_units = hidden_units
        self.depth = depth
        self.head_units = head_units
        self.activation = activation
        self.assignment = assignment
        self.gap_on = gap_on
        self.reduction = reduction
        self.pretrain_epochs = pretrain_epochs
        self.network_dtype = network_dtype
        self.seed = seed
        self.verbose = verbose
        self.model = model
        self.rule_projection = rule_projection
        self.label_dropout = label_dropout

    @classmethod
    def label_aware(cls, **overrides):
        """A LabelEnhancer with the label-aware model's shipped settings
        (:data:`LABEL_AWARE_DEFAULTS`, chosen without ground truth of the data at hand);
        ``overrides`` replace single settings, e.g. ``seed=1``."""
        return cls(**{**LABEL_AWARE_DEFAULTS, **overrides})

    @classmethod
    def from_preset(cls, name: str, **overrides):
        """A LabelEnhancer with the shipped settings for data set ``name`` (``"SJAFFE"``),
        found by ``lib-tf tune --objective revealed`` (see ``lib_tf/presets.json``);
        ``overrides`` replace single settings, e.g. ``seed=1``."""
        return cls(**{**preset_hparams(name), **overrides})

    def _model_kwargs(self):
        names = ("alpha", "beta", "temperature", "latent_dim", "hidden_units", "depth", "head_units",
                 "activation", "assignment", "gap_on", "reduction", "pretrain_epochs", "network_dtype", "seed")
        return {name: getattr(self, name) for name in names}

    @property
    def _label_aware(self) -> bool:
        return self.model == "label-aware"

    def _inputs(self, X, L):
        """What the fitted model reads: the features, or features and logical labels."""
        X = X.astype(np.float32)
        return {"features": X, "logical_labels": L.astype(np.float32)} if self._label_aware else X

    def _fit(self, X, L):
        import keras

        from .callbacks import EpochProgress
        from .model import LIB, LabelAwareLIB
        from .model.training import train

        if self.model not in MODELS:
            raise ValueError(f"model must be one of {MODELS}, got {self.model!r}")
        if not (isinstance(self.batch_size, int) and self.batch_size > 0):
            raise ValueError(f"batch_size must be a positive integer, got {self.batch_size!r}")
        epochs = auto_epochs(len(X), self.batch_size) if self.epochs is None else self.epochs
        if not (isinstance(epochs, int) and epochs > 0):
            raise ValueError(f"epochs must be a positive integer or None, got {self.epochs!r}")
        if self.seed is not None:
            keras.utils.set_random_seed(int(self.seed))
        if self._label_aware:
            model = LabelAwareLIB(L.shape[1], label_temperature=self.label_temperature, rule_projection=self.rule_projection,
                                  label_dropout=self.label_dropout, **self._model_kwargs())
        else:
            model = LIB(L.shape[1], **self._model_kwargs())
        progress = [EpochProgress(epochs)] if self.verbose else []
        history = train(model, self._inputs(X, L), L, epochs=epochs, batch_size=self.batch_size,
                        learning_rate=self.learning_rate, seed=self.seed, settings=self._optimisation_settings(),
                        callbacks=progress)
        self.epochs_ = epochs
        self.history_ = history.history
        self.model_ = model
        self._fitted_L = L
        return self._readout(X, L)

    def _optimisation_settings(self) -> str:
        """The settings a diverging fit is to change, as ``name=value, ...``."""
        names = ("model", "learning_rate", "alpha", "beta", "batch_size", "epochs", "network_dtype", "seed")
        return ", ".join(f"{name}={getattr(self, name)!r}" for name in names)

    def _readout(self, X, L):
        # From the logits, not model.predict: that builds a new input pipeline (and after a
        # change of T a new graph) on every call; the logits' graph is traced once.
        logits = self.model_.predict_logits(self._inputs(X, L) if self._label_aware else X)
        broken = ~np.isfinite(logits).all(axis=1)
        if broken.any():  # never a NaN distribution: say which instance and why
            raise ValueError(f"X row {int(np.flatnonzero(broken)[0])} gives non-finite logits: its features lie so far "
                             "outside the training data's range that float32 overflows")
        if self._label_aware:  # the model's own read-out, run eagerly on the logits
            return self.model_.readout(logits, L.astype(np.float32)).numpy()
        if self.label_temperature is None:
            return softmax_with_temperature(logits, self.temperature)
        return softmax_two_temperatures(logits, L, self.temperature, self.label_temperature)

    def _needs_labels(self) -> bool:
        return self._label_aware or self.label_temperature is not None

    def _predict(self, X):
        return self._readout(X, None)

    def transform(self, X, L=None) -> np.ndarray:
        """Label distributions (n, c) for ``X``; with ``model="label-aware"`` or
        ``label_temperature`` set, the logical labels ``L`` (n, c) of those instances too (not
        needed for the fitted ``X``)."""
        if not self._needs_labels() or not hasattr(self, "model_"):
            return super().transform(X)
        X = self._check_width(X)
        if L is None:
            if X.shape == self._fitted_X.shape and np.array_equal(X, self._fitted_X):
                return self.distributions_.copy()
            why = "model='label-aware' reads them" if self._label_aware else "label_temperature is set"
            raise ValueError(f"{why}, so transform(X, L) needs the logical labels L of X")
        return self._readout(X, self._check_labels(X, L))

    def _check_labels(self, X, L):
        L = check_logical_labels(L, "L")
        check_same_rows(X=X, L=L)
        if L.shape[1] != self.n_labels_:
            raise ValueError(f"L has {L.shape[1]} labels, but LabelEnhancer was fitted with {self.n_labels_}")
        return L

    def gap_deviation(self, X) -> np.ndarray:
        """LIB's per-instance gap deviation sigma_delta (n,) for features ``X``."""
        self._check_fitted()
        return self.model_.predict_gap_deviation(self._check_width(X))

    def logits(self, X, L=None) -> np.ndarray:
        """The label-distribution head's logits (n, c) at the posterior mean; with
        ``model="label-aware"`` the posterior reads the logical labels ``L`` (n, c) too."""
        self._check_fitted()
        X = self._check_width(X)
        if not self._label_aware:
            return self.model_.predict_logits(X)
        if L is None:
            raise ValueError("model='label-aware' reads the logical labels: logits(X, L)")
        return self.model_.predict_logits(self._inputs(X, self._check_labels(X, L)))

    def select_temperature(self, X, distributions, grid=None, metric="Kullback-Leibler", L=None,
                           label_grid=LABEL_TEMPERATURE_GRID):
        """Pick the read-out temperatures on instances whose ground truth is known (a revealed
        share), set them and return ``self``; no retraining (only the read-out changes).

        Without ``L`` (paper model only): T of ``softmax(z / T)`` from ``grid`` (default
        :data:`~lib_tf.readout.TEMPERATURE_GRID`), and the read-out becomes the features-only
        one. With the logical labels ``L`` of those instances: ``(temperature,
        label_temperature)`` from ``grid`` (default
        :data:`~lib_tf.readout.FEATURE_TEMPERATURE_GRID`) x ``label_grid`` for
        ``softmax(z / T + l / T_l)`` (``model="label-aware"``: moved into the binarisation
        rule's interval, and the logits always kept); inf drops a term (a label temperature of
        inf is stored as None)."""
        from .model.temperature import select_temperature, select_two_temperatures

        self._check_fitted()
        X = self._check_width(X)
        distributions = check_distributions(distributions, "distributions")
        check_same_rows(X=X, distributions=distributions)
        if L is None:
            if self._label_aware:
                raise ValueError("model='label-aware' reads the logical labels: select_temperature(X, distributions, L=L)")
            self.temperature = select_temperature(self.model_.predict_logits(X), distributions,
                                                  TEMPERATURE_GRID if grid is None else grid, metric)
            self.label_temperature = None
        else:
            L = self._check_labels(X, L)
            pairs = two_temperature_pairs(FEATURE_TEMPERATURE_GRID if grid is None else grid, label_grid,
                                          drop_logits=not self._label_aware)
            temperature, label_temperature = select_two_temperatures(
                self.logits(X, L), L, distributions, pairs, metric, rule_projection=self._label_aware and self.rule_projection)
            self.temperature = temperature  # inf: the labels alone won (the label softmax)
            self.label_temperature = None if math.isinf(label_temperature) else label_temperature
        if self._label_aware:
            self.model_.set_temperature(self.temperature, self.label_temperature)
        elif math.isfinite(self.temperature):
            self.model_.set_temperature(self.temperature)
        self.distributions_ = self._readout(self._fitted_X, self._fitted_L)
        return self

    def _check_width(self, X):
        X = self._check_features(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but LabelEnhancer was fitted with {self.n_features_in_}")
        return X
