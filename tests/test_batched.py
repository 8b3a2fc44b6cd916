"""BatchedLIB and fit_members: members repeat their single fits, export as single models, refuse
settings that cannot share a graph, and survive a diverging neighbour."""
import numpy as np
import pytest

EPOCHS = 30
#: Member settings of the label-aware fit: the shipped settings, another grid point with its
#: own seed, and one without label dropout (which draws no mask) sharing seed 0.
LABEL_AWARE_MEMBERS = [dict(random_state=0), dict(alpha=0.1, beta=1.0, random_state=1, label_dropout=0.3),
                       dict(alpha=0.01, random_state=0, label_dropout=0.0, temperature=2.0, label_temperature=None)]


@pytest.fixture(scope="module")
def sjaffe(data_dir):
    from lib_tf.data import load_ldl

    return load_ldl("SJAFFE")


@pytest.fixture(scope="module")
def label_aware_settings():
    from lib_tf import LabelEnhancer

    # read out as given: the members' own read-outs are what is compared (the truth-free choice
    # of a read-out is LabelEnhancer's, after training)
    return [LabelEnhancer.label_aware(epochs=EPOCHS, readout="given", **member).get_params()
            for member in LABEL_AWARE_MEMBERS]


@pytest.fixture(scope="module")
def label_aware_fit(sjaffe, label_aware_settings):
    from lib_tf.model.batched_fit import fit_members

    # its update compiled with XLA (below XLA_FROM_MEMBERS, forced): the members must still
    # repeat their single fits, whose draws and arithmetic are plain TensorFlow's
    return fit_members(sjaffe.features, sjaffe.logical_labels, label_aware_settings, xla_update=True)


#: A truth-free LA-LIB fit short enough for equality checks: its model and three fold models
#: (4 and 3 steps an epoch at batch 64).
TRUTH_FREE = dict(epochs=10, batch_size=64, random_state=3)


@pytest.fixture(scope="module")
def truth_free_alone(sjaffe):
    """The TRUTH_FREE fit on its own (fold models batched, as ``fit`` trains them): what the
    fits that train it another way must repeat."""
    from lib_tf import LabelEnhancer

    return LabelEnhancer.label_aware(**TRUTH_FREE).fit(sjaffe.features, sjaffe.logical_labels)


def _inputs(data):
    return {"features": data.features, "logical_labels": data.logical_labels}


def test_label_aware_members_repeat_their_single_fits(sjaffe, label_aware_fit, label_aware_settings):
    from lib_tf import LabelEnhancer

    distributions = label_aware_fit.predict_distributions(_inputs(sjaffe))
    logits = label_aware_fit.predict_logits(_inputs(sjaffe))
    assert distributions.shape == (3, *sjaffe.logical_labels.shape) and logits.shape == distributions.shape
    for k, settings in enumerate(label_aware_settings):
        single = LabelEnhancer(**settings).fit(sjaffe.features, sjaffe.logical_labels)
        # same batches, weights, noise and masks: only batched vs single matmuls' rounding differs
        np.testing.assert_allclose(logits[k], single.logits(sjaffe.features, sjaffe.logical_labels), atol=1e-5)
        np.testing.assert_allclose(distributions[k], single.distributions_, atol=1e-5)
    assert not np.allclose(distributions[0], distributions[1], atol=1e-3)  # the members did differ


def test_paper_members_repeat_their_single_fits_through_the_two_stage_schedule(sjaffe):
    from lib_tf import LabelEnhancer
    from lib_tf.model.batched_fit import fit_members

    settings = [LabelEnhancer(model="paper", alpha=alpha, beta=1.0, epochs=EPOCHS, pretrain_epochs=10, latent_dim=32, hidden_units=64,
                              random_state=seed).get_params() for alpha, seed in ((0.001, 3), (1.0, 4))]
    model = fit_members(sjaffe.features, sjaffe.logical_labels, settings)
    logits = model.predict_logits(sjaffe.features)
    for k, setting in enumerate(settings):
        single = LabelEnhancer(**setting).fit(sjaffe.features, sjaffe.logical_labels)
        np.testing.assert_allclose(logits[k], single.logits(sjaffe.features), atol=1e-5)
        np.testing.assert_allclose(model.predict_gap_deviation(sjaffe.features)[k],
                                   single.gap_deviation(sjaffe.features), atol=1e-5)


def test_member_streams_are_the_single_fits_streams(sjaffe):
    import keras

    from lib_tf.data.member_batches import member_batches
    from lib_tf.data.pipeline import repeated_batches

    X, L = sjaffe.features.astype(np.float32), sjaffe.logical_labels.astype(np.float32)
    seeds = [3, 5, 3]
    stacked = [batch for batch in member_batches(X, L, 64, seeds)[0].take(8)]
    for k, seed in enumerate(seeds):
        keras.utils.set_random_seed(seed)  # as LabelEnhancer(random_state=seed).fit
        single = repeated_batches(X, L, 64, seed)[0].take(8)
        for (features, labels), (one_features, one_labels) in zip(stacked, single):
            np.testing.assert_array_equal(features[k].numpy(), one_features.numpy())
            np.testing.assert_array_equal(labels[k].numpy(), one_labels.numpy())


def test_member_model_is_the_member_and_round_trips_a_keras_file(sjaffe, label_aware_fit, tmp_path):
    import keras

    from lib_tf.model import LabelAwareLIB

    inputs = _inputs(sjaffe)
    member = label_aware_fit.member_model(1)
    assert isinstance(member, LabelAwareLIB) and member.alpha == 0.1 and member.label_dropout == 0.3
    np.testing.assert_allclose(member.predict_logits(inputs), label_aware_fit.predict_logits(inputs)[1], atol=1e-6)
    np.testing.assert_allclose(member.predict(inputs, verbose=0), label_aware_fit.predict_distributions(inputs)[1],
                               atol=1e-6)
    member.save(tmp_path / "member.keras")
    reloaded = keras.models.load_model(tmp_path / "member.keras")
    np.testing.assert_allclose(reloaded.predict_logits(inputs), member.predict_logits(inputs), atol=1e-6)
    with pytest.raises(IndexError, match="member 3 out of range"):
        label_aware_fit.member_model(3)
    label_aware_fit.save(tmp_path / "batched.keras")  # the whole batched model round-trips too
    batched = keras.models.load_model(tmp_path / "batched.keras")
    np.testing.assert_allclose(batched.predict_logits(inputs), label_aware_fit.predict_logits(inputs), atol=1e-6)
    np.testing.assert_array_equal(batched.seed_state.numpy(), label_aware_fit.seed_state.numpy())


def test_a_label_aware_member_beats_normalised_labels_on_sjaffe(sjaffe, label_aware_fit):
    from lib_tf.metrics import score

    L = sjaffe.logical_labels
    member = score(sjaffe.distributions, label_aware_fit.predict_distributions(_inputs(sjaffe))[0])
    naive = score(sjaffe.distributions, L / L.sum(axis=1, keepdims=True))
    assert member["Kullback-Leibler"] < 0.8 * naive["Kullback-Leibler"]
    assert member["Chebyshev"] < naive["Chebyshev"]


def test_history_tracks_every_term_per_member(label_aware_fit):
    history = label_aware_fit.history.history
    assert set(history) == {"loss", "member_loss", "assignment", "gap", "kl"}
    assert np.shape(history["kl"][-1]) == (3,) and np.isfinite(history["member_loss"][-1]).all()
    np.testing.assert_allclose(history["loss"][-1], np.sum(history["member_loss"][-1]), rtol=1e-5)
    assert label_aware_fit.epochs_ == [EPOCHS] * 3


@pytest.mark.parametrize("change, pattern", [
    ({"latent_dim": 32}, "agree on 'latent_dim'"),
    ({"batch_size": 64}, "agree on 'batch_size'"),
    ({"model": "paper"}, "agree on 'model'"),
    ({"learning_ratee": 1e-3}, r"settings\[1\]: unknown LabelEnhancer arguments \['learning_ratee'\]"),
    ({"alpha": -1.0}, r"settings\[1\]: The 'alpha' parameter of LabelEnhancer"),
    ({"network_dtype": "mixed_bfloat16", "latent_dim": 64}, "agree on 'network_dtype'"),
])
def test_settings_that_cannot_share_a_graph_are_refused_by_name(sjaffe, label_aware_settings, change, pattern):
    from lib_tf.model.batched_fit import fit_members

    with pytest.raises(ValueError, match=pattern):
        fit_members(sjaffe.features, sjaffe.logical_labels, [label_aware_settings[0], {**label_aware_settings[0], **change}])


def test_bad_inputs_are_refused_by_name(sjaffe, label_aware_settings):
    from lib_tf.model.batched_fit import fit_members

    X, L = sjaffe.features.copy(), sjaffe.logical_labels
    X[7, 2] = np.nan
    with pytest.raises(ValueError, match="features has NaN or inf values \\(first in row 7\\)"):
        fit_members(X, L, label_aware_settings)
    with pytest.raises(ValueError, match="logical_labels"):
        fit_members(sjaffe.features, L[:-1], label_aware_settings)
    with pytest.raises(ValueError, match="float32 only"):
        fit_members(sjaffe.features, L, [{**label_aware_settings[0], "network_dtype": "mixed_bfloat16"}])
    with pytest.raises(ValueError, match="at least one"):
        fit_members(sjaffe.features, L, [])
    with pytest.raises(ValueError, match="xla_update must be 'auto', True or False, got 'yes'"):
        fit_members(sjaffe.features, L, label_aware_settings, xla_update="yes")


def test_a_diverging_member_is_flagged_and_leaves_the_others_alone(sjaffe):
    from lib_tf import LabelEnhancer
    from lib_tf.model.batched_fit import fit_members
    from lib_tf.model.training import TrainingDivergedError

    small = dict(model="paper", epochs=4, latent_dim=16, hidden_units=32, random_state=2)
    settings = [LabelEnhancer(**small).get_params(), LabelEnhancer(alpha=1e38, **small).get_params()]
    model = fit_members(sjaffe.features, sjaffe.logical_labels, settings)
    np.testing.assert_array_equal(model.diverged.numpy(), [0.0, 1.0])
    single = LabelEnhancer(**settings[0]).fit(sjaffe.features, sjaffe.logical_labels)
    np.testing.assert_allclose(model.member_model(0).predict_logits(sjaffe.features), single.logits(sjaffe.features),
                               atol=1e-5)
    with pytest.raises(TrainingDivergedError, match="member 1 diverged"):
        model.member_model(1)
    with pytest.raises(TrainingDivergedError, match="every member diverged"):
        fit_members(sjaffe.features, sjaffe.logical_labels, settings[1:])


def test_graph_key_groups_settings_that_can_share_a_graph():
    from lib_tf import LabelEnhancer
    from lib_tf.model.batched_fit import graph_key

    shipped = LabelEnhancer.label_aware().get_params()
    assert graph_key(shipped) == graph_key({**shipped, "alpha": 0.1, "random_state": 7, "label_dropout": 0.2})
    assert graph_key(shipped) != graph_key({**shipped, "latent_dim": 256})
    assert graph_key({"hidden_units": 64}) == graph_key({"hidden_units": 64, "head_units": 64})


def test_members_with_their_own_rows_repeat_single_fits_on_those_rows(sjaffe):
    """Members on different rows (and so different epochs, batches and standardisation) each
    equal a fit on their rows alone; members that finish first stay as they were."""
    from lib_tf import LabelEnhancer
    from lib_tf.model.batched_fit import fit_members

    X, L = sjaffe.features, sjaffe.logical_labels
    fold = np.random.default_rng(0).permutation(len(X)) % 3
    rows = [np.arange(len(X)), np.flatnonzero(fold != 0), np.flatnonzero(fold == 1)]  # 4, 3 and 2 steps an epoch
    settings = LabelEnhancer.label_aware(epochs=12, batch_size=64, readout="given", random_state=5).get_params()
    model = fit_members(X, L, [settings] * 3, rows=rows, xla_update=True)  # with XLA, as long fits train
    logits = model.predict_logits(_inputs(sjaffe))
    for k, member_rows in enumerate(rows):
        single = LabelEnhancer(**settings).fit(X[member_rows], L[member_rows])
        np.testing.assert_allclose(logits[k], single.logits(X, L), atol=1e-5)
        np.testing.assert_allclose(model.member_model(k).normalizer.mean.numpy(), single.model_.normalizer.mean.numpy(),
                                   rtol=1e-6)
    assert not np.allclose(logits[1], logits[2], atol=1e-3)
    with pytest.raises(ValueError, match=r"rows\[1\] must be a non-empty array of row indices in \[0, 213\)"):
        fit_members(X, L, [settings] * 2, rows=[rows[0], np.array([0, 213])])


def test_the_truth_free_fit_trains_its_fold_models_batched_as_it_would_one_by_one(sjaffe, truth_free_alone,
                                                                                 monkeypatch):
    from lib_tf import LabelEnhancer

    X, L = sjaffe.features, sjaffe.logical_labels
    batched = truth_free_alone
    monkeypatch.setattr(LabelEnhancer, "_trains_batched", lambda self: False)
    one_by_one = LabelEnhancer.label_aware(**TRUTH_FREE).fit(X, L)
    np.testing.assert_allclose(batched.logits(X, L), one_by_one.logits(X, L), atol=1e-5)
    np.testing.assert_allclose(batched.posterior_.mean, one_by_one.posterior_.mean, atol=1e-4)
    assert batched.readout_choice_["temperature"] == one_by_one.readout_choice_["temperature"]
    assert batched.readout_choice_["label_temperature"] == one_by_one.readout_choice_["label_temperature"]
    assert batched.epochs_ == one_by_one.epochs_ == 10 and len(batched.history_["loss"]) == len(one_by_one.history_["loss"])


def test_fit_together_fits_each_enhancer_as_its_own_fit_would(sjaffe, truth_free_alone):
    """Two LIB settings (one graph, every member on all rows) on either side of a truth-free
    LA-LIB fit (another graph: its model and fold models), fitted together: each as if alone,
    and returned in the order given."""
    from lib_tf import LabelEnhancer
    from lib_tf.enhancer import fit_together

    X, L = sjaffe.features, sjaffe.logical_labels
    small = dict(model="paper", epochs=10, latent_dim=16, hidden_units=32)
    settings = [dict(alpha=0.001, random_state=0, **small), LabelEnhancer.label_aware(**TRUTH_FREE).get_params(),
                dict(alpha=1.0, random_state=1, **small)]
    together = fit_together([LabelEnhancer(**setting) for setting in settings], X, L)
    alone = [LabelEnhancer(**settings[0]).fit(X, L), truth_free_alone, LabelEnhancer(**settings[2]).fit(X, L)]
    for enhancer, single in zip(together, alone):
        assert enhancer.get_params() == single.get_params()
        np.testing.assert_allclose(enhancer.distributions_, single.distributions_, atol=1e-4)
        assert enhancer.history_.keys() == single.history_.keys()
    assert together[1].readout_choice_ == truth_free_alone.readout_choice_
