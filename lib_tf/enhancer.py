"""``LabelEnhancer``: LIB behind the scikit-learn style interface of every baseline."""
from __future__ import annotations

import inspect
import math

import numpy as np

from .base import BaseEnhancer
from .data.validation import FLOAT32_RANGE, check_distributions, check_logical_labels, check_same_rows
from .hparams import (LABEL_ENHANCER_CONSTRAINTS, LABEL_ENHANCER_PARAMETERS, preset_params, rename_deprecated,
                      with_model_defaults)
from .model.epochs import auto_epochs
from .readout.forms import (FEATURE_TEMPERATURE_GRID, LABEL_TEMPERATURE_GRID, TEMPERATURE_GRID, TemperatureReadouts,
                            TwoTemperatureReadouts, model_readouts, softmax_two_temperatures,
                            softmax_with_temperature)
from .readout.selection import SELECTION_METRIC, select_readout

class LabelEnhancer(BaseEnhancer):
    """Label enhancement with LIB: ``fit(X, L)`` then ``transform(X)`` -> distributions (n, c).

    A scikit-learn estimator (``get_params``, ``set_params``, ``clone``); the constructor only
    stores its keyword arguments, which ``fit`` checks against ``_parameter_constraints``.
    Each parameter is declared once, with its default and constraints, in
    :data:`lib_tf.hparams.LABEL_ENHANCER_PARAMETERS`. A default of None for ``alpha``, ``beta``,
    ``latent_dim``, ``head_units``, ``label_dropout`` and ``readout`` means the model's own
    (:data:`lib_tf.hparams.MODEL_DEFAULTS`; the fit's values are ``settings_``): the paper's
    for ``model="paper"``, the label-aware LIB's shipped ones for ``model="label-aware"``, the
    default, which wins without ground truth (README, "What the measurements say").

    Parameters
    ----------
    alpha : float >= 0 or None, default=None
        Weight of LIB's gap term (see :class:`lib_tf.model.LIB`); None: 0.001 (paper), 1.0
        (label-aware).
    beta : float >= 0 or None, default=None
        Weight of LIB's KL term; None: 1.0 (paper), 10.0 (label-aware).
    temperature : float > 0, default=1.0
        Read-out temperature ``T`` of ``softmax(z / T)``; the fitted value is
        ``temperature_`` (:meth:`select_temperature` may change it, never this argument).
    label_temperature : float > 0, inf or None, default=None
        None or inf: the paper's read-out ``softmax(z / T)``. A number: ``softmax(z / T + l /
        label_temperature)``, each instance's own logical labels join the model's logits (see
        :func:`lib_tf.readout.forms.softmax_two_temperatures`), so ``transform`` then needs ``L``.
        The fitted value is ``label_temperature_``.
    epochs : int >= 1 or None, default=None
        Training epochs; None: about 2000 Adam steps, between 20 and 300 epochs.
    batch_size : int >= 1, default=128
    learning_rate : float > 0, default=1e-3
        Adam's learning rate.
    latent_dim : int >= 1 or None, default=None
        Size of h; None: 256 (paper), 64 (label-aware).
    hidden_units, depth : int >= 1, default=256, 3
        Network sizes of :class:`lib_tf.model.LIB`.
    head_units : int >= 1 or None, default=None
        Hidden width of the three networks that read h (decoder, distribution and gap
        heads); None: ``hidden_units`` (paper), 64 (label-aware).
    activation : str or callable, default="sigmoid"
        Keras activation of the hidden layers.
    assignment : {"squared", "cross_entropy"}, default="squared"
    gap_on : {"logits", "probabilities"}, default="logits"
    reduction : {"mean", "sum"}, default="mean"
    pretrain_epochs : int >= 0, default=0
        Epochs of the two-stage schedule's first stage.
    network_dtype : {"float32", "mixed_bfloat16"}, default="float32"
    random_state : int in [0, 2**32 - 1] or None, default=None
        Seeds weight initialisation, shuffling and the posterior noise; a fixed value repeats
        a fit on one machine. (Formerly ``seed``: ``LabelEnhancer(seed=...)`` and
        ``set_params(seed=...)`` still work, with a FutureWarning, and set ``random_state``;
        given together with ``random_state``, the later of the two wins, ``seed`` in the
        constructor.)
    verbose : {0, 1}, default=0
        0 silent, 1 a progress bar over epochs.
    model : {"paper", "label-aware"}, default="label-aware"
        ``"paper"`` fits :class:`lib_tf.model.LIB`; ``"label-aware"`` fits
        :class:`lib_tf.model.LabelAwareLIB`, whose posterior reads each instance's logical
        labels too and whose read-out ``rule_consistent(softmax(z / T + l / T_l), l)`` uses them
        (with ``rule_projection``), so it needs ``L`` wherever it reads out.
    rule_projection : bool, default=True
        Label-aware model: move the read-out into the binarisation rule's interval.
    label_dropout : float in [0, 1) or None, default=None
        Label-aware model: share of the labels hidden from its encoder during training; None:
        0.5 (0 for the paper's model, which reads no labels).
    readout : {"given", "truth-free"} or None, default=None
        None: ``"given"`` (paper), ``"truth-free"`` (label-aware).
        ``"given"``: read out with ``temperature`` and ``label_temperature``. ``"truth-free"``:
        chosen from X and L alone. ``readout_folds`` more fits, each on the other folds, give
        every instance logits made without it (and, label-aware, without its own label); the
        binarisation posterior fitted to them (:mod:`lib_tf.readout.posterior`, ``posterior_``)
        picks the temperatures of the model's read-out for other instances and the export
        (the pair with the least expected KL; ``readout_choice_``); the fitted instances get
        the average of its mean and that read-out (``distributions_``,
        :meth:`~lib_tf.readout.posterior.BinarisationPosterior.hedge`).
    readout_folds : int >= 2, default=3
        Folds of the truth-free read-out's cross-fitting.

    Attributes
    ----------
    settings_ : dict
        The settings of the fit: ``get_params()`` with the model's defaults in place of None
        (what the export's model card and ``settings.json`` record).
    model_ : keras.Model
        The trained :class:`lib_tf.model.LIB` or :class:`lib_tf.model.LabelAwareLIB`.
    temperature_ : float
        Read-out temperature in use: ``temperature`` after ``fit``, then the choice of
        :meth:`select_temperature` (inf when the labels alone won).
    label_temperature_ : float or None
        Label temperature in use (None: no labels' term): ``label_temperature`` after
        ``fit``, then the choice of :meth:`select_temperature`.
    posterior_ : BinarisationPosterior
        ``readout="truth-free"``: the binarisation posterior of the fitted instances.
    held_out_logits_ : ndarray of shape (n_samples, n_labels)
        ``readout="truth-free"``: each fitted instance's logits from the fold model that never
        saw it (label-aware: each label's made without that label), what the posterior's noise
        model is fitted on.
    readout_choice_ : dict
        ``readout="truth-free"``: the chosen temperatures, their expected KL, the posterior
        mean's and the fitted instances' (``distributions_``), whether the choice still lies on
        a grid end and whether the labels pinned the scale.
    epochs_ : int
        Epochs run.
    history_ : dict
        Training losses, one entry per graph call (small data sets run several epochs per
        call, up to about 32 steps).
    distributions_ : ndarray of shape (n_samples, n_labels)
        Distributions of the training instances: under the fitted read-out, or with
        ``readout="truth-free"`` the average of the posterior mean and the chosen read-out.
    n_features_in_ : int
    n_labels_ : int
    """

    inductive = True
    feature_range = FLOAT32_RANGE
    min_labels = 2  # a softmax over one label has nothing to learn
    _parameter_constraints = LABEL_ENHANCER_CONSTRAINTS

    def __init__(self, **params):
        # The parameters and their defaults are declared once, in LABEL_ENHANCER_PARAMETERS
        # (the signature below is made from it). ``seed`` is the former name of
        # ``random_state``: an alias, not a parameter; anything else is a mistyped name.
        unknown = sorted(set(params) - set(LABEL_ENHANCER_PARAMETERS) - {"seed"})
        if unknown:
            raise TypeError(f"LabelEnhancer got unexpected keyword arguments {unknown}")
        params = rename_deprecated(params) if "seed" in params else params
        for name, (default, _) in LABEL_ENHANCER_PARAMETERS.items():
            setattr(self, name, params.get(name, default))

    __init__.__signature__ = inspect.Signature(
        [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        + [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default)
           for name, (default, _) in LABEL_ENHANCER_PARAMETERS.items()])

    def set_params(self, **params):
        """scikit-learn's ``set_params``; the former name ``seed`` sets ``random_state`` (with a
        FutureWarning)."""
        if "seed" in params:
            params = rename_deprecated(params)
        return super().set_params(**params)

    @classmethod
    def label_aware(cls, **overrides):
        """A LabelEnhancer of the label-aware model with its shipped settings
        (:data:`lib_tf.hparams.MODEL_DEFAULTS`, chosen without ground truth of the data at hand;
        what ``LabelEnhancer()`` fits too); ``overrides`` replace single settings, e.g.
        ``random_state=1``."""
        return cls(**{"model": "label-aware", **overrides})

    @classmethod
    def from_preset(cls, name: str, **overrides):
        """A LabelEnhancer with the shipped settings for data set ``name`` (``"SJAFFE"``),
        found by ``lib-tf tune --objective revealed`` (see ``lib_tf/presets.json``);
        ``overrides`` replace single settings, e.g. ``random_state=1``."""
        return cls(**{**preset_params(name), **overrides})

    @property
    def _label_aware(self) -> bool:
        return self.model == "label-aware"

    def _inputs(self, X, L):
        """What the fitted model reads: the features, or features and logical labels."""
        X = X.astype(np.float32)
        return {"features": X, "logical_labels": L.astype(np.float32)} if self._label_aware else X

    def _fit(self, X, L):
        self.settings_ = self._resolved_settings()
        trained = self.__dict__.pop("_trained_together", None)  # fit_together trained the models
        if trained is None and self.settings_["readout"] == "truth-free" and self._trains_batched():
            trained = _train_together([self], X, L)[0]  # the model and its fold models, side by side
        if trained is None:
            trained = self._train_one_by_one(X, L)
        self.model_, self.history_, self.epochs_, fold_models = trained
        self.temperature_ = self.temperature
        self.label_temperature_ = self.label_temperature
        self._fitted_L = L
        if self.settings_["readout"] == "truth-free":
            held_out = self._held_out_logits(X, L, self._readout_fold_of_rows(len(X)), fold_models)
            return self._fit_readout_without_truth(X, L, held_out)
        return self._readout(X, L)

    def _resolved_settings(self) -> dict:
        """``get_params()`` but ``verbose``, with the model's defaults in place of None (what a
        fit records as ``settings_``)."""
        return {k: v for k, v in with_model_defaults(self.get_params()).items() if k != "verbose"}

    def _member_rows(self, n: int) -> list:
        """The rows of each model a fit trains: all n for the model, then (``readout="truth-free"``)
        for each fold's model the other folds' rows."""
        rows = [np.arange(n)]
        if self._resolved_settings()["readout"] == "truth-free":
            fold = self._readout_fold_of_rows(n)
            rows += [np.flatnonzero(fold != index) for index in range(self.readout_folds)]
        return rows

    def _trains_batched(self) -> bool:
        """Whether this fit's models can train as members of a batched fit
        (:func:`lib_tf.model.batched_fit.fit_members`): not with the two-stage schedule (members
        with their own rows switch stages at their own epochs) or mixed_bfloat16."""
        return self.pretrain_epochs == 0 and self.network_dtype == "float32"

    def _train_one_by_one(self, X, L):
        """(model, history dict, epochs, fold models) trained one after another (:meth:`_train`)."""
        (model, history, epochs), *folds = [self._train(X[rows], L[rows]) if len(rows) < len(X) else self._train(X, L)
                                            for rows in self._member_rows(len(X))]
        return model, history.history, epochs, [fold_model for fold_model, _, _ in folds]

    def _train(self, X, L):
        """A new model trained on (X, L) with these settings: (model, history, epochs)."""
        from .callbacks import EpochProgress
        from .model.factory import build_model
        from .model.training import train

        # The arguments were checked by fit (_parameter_constraints).
        epochs = auto_epochs(len(X), self.batch_size) if self.epochs is None else int(self.epochs)
        model = build_model(L.shape[1], self.settings_)
        progress = [EpochProgress(epochs)] if self.verbose else []
        history = train(model, self._inputs(X, L), L, epochs=epochs, batch_size=self.batch_size,
                        learning_rate=self.learning_rate, seed=self.random_state, settings=self._optimisation_settings(),
                        callbacks=progress)
        return model, history, epochs

    def _fit_readout_without_truth(self, X, L, held_out_logits):
        """``readout="truth-free"``: the posterior of the fitted instances' distributions, and the
        model's read-out with the least expected KL under it (see the ``readout`` parameter)."""
        from .readout.posterior import fit_binarisation_posterior
        from .readout.selection import choose_extending

        posterior = fit_binarisation_posterior(held_out_logits, L,
                                               read_logits=self._logits_without_own_label(self.model_, X, L),
                                               random_state=self._readout_seed)
        form, logits = self._readout_form(), self.model_.predict_logits(self._inputs(X, L) if self._label_aware else X)
        chosen, expected_kl, chosen_form, on_grid_end = choose_extending(
            form, lambda f, candidate: posterior.expected_kl(f.read_out(logits, L, candidate)))
        temperature, label_temperature = chosen if self._label_aware else (chosen, None)
        self._set_temperatures(temperature, label_temperature)
        self.posterior_, self.held_out_logits_ = posterior, held_out_logits
        fitted = posterior.hedge(chosen_form.read_out(logits, L, chosen))
        self.readout_choice_ = {"temperature": self.temperature_, "label_temperature": self.label_temperature_,
                                "expected_kl": float(expected_kl), "posterior_expected_kl": posterior.expected_kl(posterior.mean),
                                "fitted_expected_kl": posterior.expected_kl(fitted),
                                "on_grid_end": bool(on_grid_end), "scale_identified": posterior.scale_identified,
                                "folds": int(self.readout_folds)}
        return fitted

    def _readout_form(self):
        """The read-outs the truth-free choice picks from: T for the paper model, (T, T_l) with the
        logits kept for the label-aware one."""
        return model_readouts(self._label_aware, self.rule_projection)

    @property
    def _readout_seed(self) -> int:
        """The truth-free read-out's seed (its folds and its sampler): ``random_state``, 0 when None."""
        return 0 if self.random_state is None else int(self.random_state)

    def _readout_fold_of_rows(self, n: int) -> np.ndarray:
        """Each instance's fold (n,) of the truth-free read-out's cross-fitting (a seeded split)."""
        if self.readout_folds > n:
            raise ValueError(f"readout_folds={self.readout_folds} needs at least as many instances; X has {n}")
        return np.random.default_rng(self._readout_seed).permutation(n) % self.readout_folds

    def _held_out_logits(self, X, L, fold, fold_models):
        """Every instance's logits from the model of its fold (trained on the other folds), made
        without its own label (:meth:`_logits_without_own_label`)."""
        held_out = np.empty(L.shape, dtype=np.float64)
        for index, model in enumerate(fold_models):
            test_rows = fold == index
            held_out[test_rows] = self._logits_without_own_label(model, X[test_rows], L[test_rows])
        return held_out

    def _logits_without_own_label(self, model, X, L):
        """Logits (n, c) where each label's logit is made without that label (the model's
        ``predict_logits_without_own_labels``: the tuner's truth-free objective reads them too)."""
        return np.asarray(model.predict_logits_without_own_labels(X.astype(np.float32), L), dtype=np.float64)

    def _optimisation_settings(self) -> str:
        """The settings a diverging fit is to change, as ``name=value, ...``."""
        names = ("model", "learning_rate", "alpha", "beta", "batch_size", "epochs", "network_dtype", "random_state")
        return ", ".join(f"{name}={self.settings_[name]!r}" for name in names)

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
        if self.label_temperature_ is None:
            return softmax_with_temperature(logits, self.temperature_)
        return softmax_two_temperatures(logits, L, self.temperature_, self.label_temperature_)

    def _needs_labels(self) -> bool:
        return self._label_aware or getattr(self, "label_temperature_", self.label_temperature) is not None

    def _predict(self, X):
        return self._readout(X, None)

    def transform(self, X, L=None) -> np.ndarray:
        """Label distributions (n, c) for ``X``; with ``model="label-aware"`` or
        ``label_temperature`` set, the logical labels ``L`` (n, c) of those instances too.

        With ``readout="truth-free"`` the fitted instances (``L`` omitted or theirs) get
        ``distributions_`` (the posterior's hedge); every other instance gets the fitted read-out
        (:meth:`read_out`, what an export serves)."""
        if not hasattr(self, "model_"):
            return super().transform(X)
        X = self._check_width(X)
        fitted_rows = X.shape == self._fitted_X.shape and np.array_equal(X, self._fitted_X)
        labels_fitted = L is None or np.array_equal(np.asarray(L, dtype=np.float64), self._fitted_L)
        if fitted_rows and (L is None and self._needs_labels() or self.settings_["readout"] == "truth-free" and labels_fitted):
            return self.distributions_.copy()
        if not self._needs_labels():
            return super().transform(X)
        if L is None:
            why = "model='label-aware' reads them" if self._label_aware else "label_temperature is set"
            raise ValueError(f"{why}, so transform(X, L) needs the logical labels L of X")
        return self._readout(X, self._check_labels(X, L))

    def read_out(self, X, L=None) -> np.ndarray:
        """The fitted read-out (n, c) of any instances ``X`` (with their logical labels ``L`` where
        it reads them): the model at ``temperature_`` and ``label_temperature_``, what an export
        serves. Unlike :meth:`transform`, it never answers with ``distributions_``."""
        self._check_fitted()
        X = self._check_width(X)
        if self._needs_labels():
            if L is None:
                why = "model='label-aware' reads them" if self._label_aware else "label_temperature is set"
                raise ValueError(f"{why}, so read_out(X, L) needs the logical labels L of X")
            L = self._check_labels(X, L)
        return self._readout(X, L)

    def _check_labels(self, X, L):
        L = check_logical_labels(L, "L")
        check_same_rows(X=X, L=L)
        if L.shape[1] != self.n_labels_:
            raise ValueError(f"L has {L.shape[1]} labels, but LabelEnhancer was fitted with {self.n_labels_}")
        return L

    def gap_deviation(self, X, L=None) -> np.ndarray:
        """LIB's per-instance gap deviation sigma_delta (n,) at the posterior mean; with
        ``model="label-aware"`` the posterior reads the logical labels ``L`` (n, c) too."""
        return self.model_.predict_gap_deviation(self._posterior_inputs(X, L, "gap_deviation"))

    def logits(self, X, L=None) -> np.ndarray:
        """The label-distribution head's logits (n, c) at the posterior mean; with
        ``model="label-aware"`` the posterior reads the logical labels ``L`` (n, c) too."""
        return self.model_.predict_logits(self._posterior_inputs(X, L, "logits"))

    def _posterior_inputs(self, X, L, method: str):
        """What the fitted model's posterior reads, checked: ``X``, or ``X`` and ``L`` for the
        label-aware model (whose ``method(X, L)`` needs them)."""
        self._check_fitted()
        X = self._check_width(X)
        if not self._label_aware:
            return X
        if L is None:
            raise ValueError(f"model='label-aware' reads the logical labels: {method}(X, L)")
        return self._inputs(X, self._check_labels(X, L))

    def select_temperature(self, X, distributions, grid=None, metric=SELECTION_METRIC, L=None, label_grid=None):
        """Pick the read-out temperatures on instances whose ground truth is known (a revealed
        share), store them in ``temperature_`` and ``label_temperature_`` (the constructor's
        ``temperature`` and ``label_temperature`` stay as given) and return ``self``; no
        retraining (only the read-out changes).

        Without ``L`` (paper model only): T of ``softmax(z / T)`` from ``grid`` (default
        :data:`~lib_tf.readout.forms.TEMPERATURE_GRID`), and the read-out becomes the features-only
        one. With the logical labels ``L`` of those instances: ``(temperature,
        label_temperature)`` from ``grid`` (default
        :data:`~lib_tf.readout.forms.FEATURE_TEMPERATURE_GRID`) x ``label_grid`` for
        ``softmax(z / T + l / T_l)`` (``model="label-aware"``: moved into the binarisation
        rule's interval, and the logits always kept); inf drops a term (a label temperature of
        inf is stored as None). A choice on an end of a default grid carries that grid on
        (:func:`~lib_tf.readout.selection.choose_extending`); grids given are kept as given."""
        self._check_fitted()
        X = self._check_width(X)
        distributions = check_distributions(distributions, "distributions")
        check_same_rows(X=X, distributions=distributions)
        if L is None:
            if self._label_aware:
                raise ValueError("model='label-aware' reads the logical labels: select_temperature(X, distributions, L=L)")
            form = TemperatureReadouts(TEMPERATURE_GRID if grid is None else tuple(grid))
            self.temperature_ = select_readout(self.model_.predict_logits(X), distributions, form=form, metric=metric,
                                               extend=grid is None)
            self.label_temperature_ = None
        else:
            L = self._check_labels(X, L)
            form = TwoTemperatureReadouts(FEATURE_TEMPERATURE_GRID if grid is None else tuple(grid),
                                          LABEL_TEMPERATURE_GRID if label_grid is None else tuple(label_grid),
                                          drop_logits=not self._label_aware,
                                          rule_projection=self._label_aware and self.rule_projection)
            logits = self.logits(X, L)
            temperature, label_temperature = select_readout(logits, distributions, L, form=form, metric=metric,
                                                            extend=grid is None and label_grid is None)
            self.temperature_ = temperature  # inf: the labels alone won (the label softmax)
            self.label_temperature_ = None if math.isinf(label_temperature) else label_temperature
        self._set_temperatures(self.temperature_, self.label_temperature_)
        self.distributions_ = self._readout(self._fitted_X, self._fitted_L)
        return self

    def _set_temperatures(self, temperature, label_temperature):
        """The fitted read-out's temperatures, in ``temperature_``, ``label_temperature_`` and the
        model (a label temperature of inf is stored as None)."""
        self.temperature_ = float(temperature)
        self.label_temperature_ = None if label_temperature is None or math.isinf(label_temperature) else float(label_temperature)
        if self._label_aware:
            self.model_.set_temperature(self.temperature_, self.label_temperature_)
        elif math.isfinite(self.temperature_):
            self.model_.set_temperature(self.temperature_)

    def _check_width(self, X):
        X = self._check_features(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but LabelEnhancer was fitted with {self.n_features_in_}")
        return X


def fit_together(enhancers, X, L) -> list:
    """Fit every LabelEnhancer in ``enhancers`` on the same ``X`` (n, d) and ``L`` (n, c), each as
    its own ``fit(X, L)`` would, with their models (and with ``readout="truth-free"`` their
    fold models) trained as members of batched fits: one
    :func:`~lib_tf.model.batched_fit.fit_members` per group of settings that can share a graph
    (:func:`~lib_tf.model.batched_fit.graph_key`). Each member equals its model fitted alone to
    float rounding (tests/test_batched.py); a fit that cannot batch
    (:meth:`LabelEnhancer._trains_batched`) runs alone. Returns ``enhancers``, fitted.
    """
    from .model.batched_fit import graph_key

    enhancers = list(enhancers)
    if not enhancers:
        return enhancers
    X = enhancers[0]._check_features(X)
    L = check_logical_labels(L, "L")
    check_same_rows(X=X, L=L)
    groups = {}
    for enhancer in enhancers:
        enhancer._validate_params()
        if enhancer._trains_batched():
            groups.setdefault(graph_key(enhancer._resolved_settings()), []).append(enhancer)
    for group in groups.values():
        for enhancer, trained in zip(group, _train_together(group, X, L)):
            enhancer._trained_together = trained
    return [enhancer.fit(X, L) for enhancer in enhancers]


def _train_together(enhancers, X, L) -> list:
    """Each enhancer's (model, history dict, epochs, fold models), all trained in one batched fit
    (their settings share a graph). A model's history holds its own entries of the fit's (one
    per graph call)."""
    from .callbacks import EpochProgress
    from .model.batched_fit import fit_members, member_schedule

    rows = [enhancer._member_rows(len(X)) for enhancer in enhancers]
    flat = [member_rows for enhancer_rows in rows for member_rows in enhancer_rows]
    settings = [enhancer._resolved_settings() for enhancer, enhancer_rows in zip(enhancers, rows) for _ in enhancer_rows]
    epochs, _, longest = member_schedule([len(member_rows) for member_rows in flat], enhancers[0].epochs,
                                         enhancers[0].batch_size)
    progress = [EpochProgress(epochs[longest], description=f"{len(flat)} LIB models")] if any(
        enhancer.verbose for enhancer in enhancers) else []
    every_row = all(len(member_rows) == len(X) for member_rows in flat)
    batched = fit_members(X, L, settings, rows=None if every_row else flat, callbacks=progress)
    trained, first = [], 0
    for enhancer_rows in rows:
        history = {name: [float(np.reshape(values, -1)[first]) for values in batched.history.history[member_name]]
                   for name, member_name in (("loss", "member_loss"), ("assignment", "assignment"), ("gap", "gap"),
                                             ("kl", "kl"))}
        folds = [batched.member_model(k) for k in range(first + 1, first + len(enhancer_rows))]
        trained.append((batched.member_model(first), history, epochs[first], folds))
        first += len(enhancer_rows)
    return trained
