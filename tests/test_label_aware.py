"""LabelAwareLIB and LabelEnhancer(model="label-aware"): terms, read-out, persistence, quality."""
import numpy as np
import pytest

SMALL = dict(latent_dim=32, hidden_units=64, head_units=32)


@pytest.fixture(scope="module")
def sjaffe(data_dir):
    from lib_tf.data import load_ldl

    return load_ldl("SJAFFE")


@pytest.fixture(scope="module")
def fitted(sjaffe):
    from lib_tf import LabelEnhancer

    # the read-out given (T = 1, no labels' term) and every label shown: what select_temperature starts from
    return LabelEnhancer(model="label-aware", alpha=1.0, beta=10.0, epochs=150, random_state=0, readout="given",
                         label_dropout=0.0, **SMALL).fit(
        sjaffe.features, sjaffe.logical_labels)


def test_posterior_reads_the_labels_and_train_step_tracks_every_term(sjaffe):
    import keras
    import tensorflow as tf

    from lib_tf.model import LabelAwareLIB

    X, L = sjaffe.features.astype(np.float32), sjaffe.logical_labels.astype(np.float32)
    model = LabelAwareLIB(L.shape[1], alpha=1.0, beta=1.0, seed=0, **SMALL)
    inputs = {"features": X, "logical_labels": L}
    model.adapt(inputs)
    assert model.encoder.layers[0].kernel.shape[0] == X.shape[1] + L.shape[1]
    model.compile(keras.optimizers.Adam(1e-3))
    logs = model.fit(tf.data.Dataset.from_tensor_slices((inputs, L)).batch(64), epochs=1, verbose=0).history
    assert set(logs) == {"loss", "assignment", "gap", "kl"}
    flipped = L.copy()
    flipped[:, 0] = 1 - flipped[:, 0]
    flipped[flipped.sum(axis=1) == 0, 1] = 1
    mean = model.posterior(inputs).loc.numpy()
    assert not np.allclose(mean, model.posterior({"features": X, "logical_labels": flipped}).loc.numpy())
    out = model.predict(inputs, verbose=0)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-5)
    with pytest.raises(ValueError, match="logical_labels"):
        model.posterior({"features": X})


def test_readout_is_the_rule_moved_two_temperature_softmax_and_survives_a_keras_file(fitted, sjaffe, tmp_path):
    import keras

    from lib_tf.readout.forms import rule_consistent, softmax_two_temperatures

    X, L = sjaffe.features, sjaffe.logical_labels
    fitted.model_.set_temperature(2.0, 4.0)
    inputs = {"features": X.astype(np.float32), "logical_labels": L.astype(np.float32)}
    expected = rule_consistent(softmax_two_temperatures(fitted.logits(X, L), L, 2.0, 4.0), L)
    got = fitted.model_.predict(inputs, verbose=0)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    path = tmp_path / "label_aware.keras"
    fitted.model_.save(path)
    np.testing.assert_allclose(keras.models.load_model(path).predict(inputs, verbose=0), got, atol=1e-6)


def test_serving_outputs_read_the_labels_as_transform_does(fitted, sjaffe):
    X, L = sjaffe.features[:40], sjaffe.logical_labels[:40]
    served = fitted.model_.serving_outputs(X.astype(np.float32), L.astype(np.float32))
    np.testing.assert_allclose(served["label_distribution"].numpy(), fitted.transform(X, L), atol=1e-5)
    gap = fitted.model_.predict_gap_deviation({"features": X, "logical_labels": L})
    np.testing.assert_allclose(served["gap_deviation"].numpy()[:, 0], gap, atol=1e-5)


def test_enhancer_needs_the_labels_wherever_it_reads_out(fitted, sjaffe):
    X, L, D = sjaffe.features, sjaffe.logical_labels, sjaffe.distributions
    with pytest.raises(ValueError, match="needs the logical labels"):
        fitted.transform(X[:5])
    with pytest.raises(ValueError, match="reads the logical labels"):
        fitted.logits(X)
    with pytest.raises(ValueError, match="reads the logical labels"):
        fitted.select_temperature(X[:20], D[:20])
    np.testing.assert_allclose(fitted.transform(X[:5], L[:5]), fitted.transform(X, L)[:5], atol=1e-6)
    with pytest.raises(ValueError, match="'model' parameter of LabelEnhancer must be a str among"):
        type(fitted)(model="other", epochs=1).fit(X, L)


def test_label_aware_beats_the_tuned_label_softmax_blind_on_sjaffe(fitted, sjaffe):
    """Blind protocol on SJAFFE: read-out chosen on a revealed 10%, scored on the rest, against
    the label softmax with its T chosen the same way (reference: KL .0320, Chebyshev .0751)."""
    from lib_tf import score
    from lib_tf.data import split_instances
    from lib_tf.readout.forms import softmax_with_temperature
    from lib_tf.readout.selection import select_readout

    X, L, D = sjaffe.features, sjaffe.logical_labels, sjaffe.distributions
    revealed, hidden = split_instances(len(X))
    fitted.select_temperature(X[revealed], D[revealed], L=L[revealed])
    ours = score(D[hidden], fitted.distributions_[hidden])
    t = select_readout(L[revealed], D[revealed])
    label_softmax = score(D[hidden], softmax_with_temperature(L[hidden], t))
    assert ours["Kullback-Leibler"] < label_softmax["Kullback-Leibler"] - 0.002
    assert ours["Chebyshev"] < label_softmax["Chebyshev"]
    assert ours["Cosine"] > label_softmax["Cosine"]


def test_label_dropout_is_checked_and_kept_in_the_config():
    from lib_tf.model import LabelAwareLIB

    for bad in (1.0, -0.1, "half"):
        with pytest.raises(ValueError, match="label_dropout"):
            LabelAwareLIB(3, label_dropout=bad)
    model = LabelAwareLIB(3, label_dropout=0.5, latent_dim=4, hidden_units=8)
    assert LabelAwareLIB.from_config(model.get_config()).label_dropout == 0.5


def test_the_default_is_the_label_aware_model_and_each_model_fills_in_its_own_defaults():
    from lib_tf import LabelEnhancer
    from lib_tf.hparams import MODEL_DEFAULTS, with_model_defaults
    from lib_tf.model import LIB, LabelAwareLIB
    from lib_tf.model.factory import build_model

    assert LabelEnhancer().get_params() == LabelEnhancer.label_aware().get_params()
    enhancer = LabelEnhancer.label_aware(random_state=3, alpha=2.0)
    settings = with_model_defaults(enhancer.get_params())
    assert settings["model"] == "label-aware" and settings["random_state"] == 3 and settings["alpha"] == 2.0
    assert all(settings[name] == value for name, value in MODEL_DEFAULTS["label-aware"].items() if name != "alpha")
    # one argument away, the paper's LIB with the paper's settings, not the label-aware model's
    paper = with_model_defaults(LabelEnhancer(model="paper").get_params())
    assert (paper["alpha"], paper["beta"], paper["latent_dim"], paper["readout"]) == (0.001, 1.0, 256, "given")
    model = build_model(4, paper)
    assert type(model) is LIB and model.latent_dim == 256 and model.alpha == 0.001
    assert type(build_model(4, {})) is LabelAwareLIB  # settings that name no model build the default one


def test_truth_free_fit_beats_the_label_softmax_chosen_with_truth_on_sjaffe(sjaffe_label_aware_fit):
    """The default label-aware fit (150 epochs of SMALL networks) sees no ground truth: its
    distributions (the posterior's hedge) must still beat the label softmax whose T was chosen
    on a revealed 10% (reference: KL .0320 on the other 90%), and l / sum(l), on every measure;
    the model's own read-out is the pair the posterior chose, and the hedge is the average of
    that read-out and the posterior mean."""
    from lib_tf import score
    from lib_tf.baselines.reference import label_shares
    from lib_tf.data import split_instances
    from lib_tf.readout.forms import softmax_with_temperature
    from lib_tf.readout.selection import select_readout

    sjaffe, enhancer = sjaffe_label_aware_fit
    assert {k: enhancer.get_params()[k] for k in SMALL} == SMALL and enhancer.model == "label-aware"
    X, L, D = sjaffe.features, sjaffe.logical_labels, sjaffe.distributions
    revealed, hidden = split_instances(len(X))
    ours = score(D[hidden], enhancer.distributions_[hidden])
    label_softmax = score(D[hidden], softmax_with_temperature(L[hidden], select_readout(L[revealed], D[revealed])))
    naive = score(D[hidden], label_shares(L[hidden]))
    assert ours["Kullback-Leibler"] < label_softmax["Kullback-Leibler"] - 0.002
    for metric, value in ours.items():
        assert (value > naive[metric]) if metric in ("Cosine", "Intersection") else (value < naive[metric]), metric
    choice = enhancer.readout_choice_
    assert (choice["temperature"], choice["label_temperature"]) == (enhancer.temperature_, enhancer.label_temperature_)
    assert choice["posterior_expected_kl"] <= choice["fitted_expected_kl"] <= choice["expected_kl"]
    assert choice["folds"] == 3
    np.testing.assert_allclose(enhancer.distributions_, (enhancer.posterior_.mean + enhancer.read_out(X, L)) / 2,
                               atol=1e-6)
    np.testing.assert_array_equal(enhancer.transform(X, L), enhancer.distributions_)
    # held_out_logits_ are what the posterior's noise model was fitted on
    from lib_tf.readout.posterior import fit_binarisation_posterior

    own = np.asarray(enhancer.model_.predict_logits_without_own_labels(X.astype(np.float32), L), dtype=np.float64)
    assert enhancer.held_out_logits_.shape == L.shape and not np.allclose(enhancer.held_out_logits_, own, atol=1e-3)
    again = fit_binarisation_posterior(enhancer.held_out_logits_, L, read_logits=own, random_state=enhancer.random_state or 0)
    np.testing.assert_allclose(again.mean, enhancer.posterior_.mean, atol=1e-6)
    # other instances get the model's read-out at the chosen pair: what an export serves
    served = enhancer.model_.serving_outputs(X[:7].astype(np.float32), L[:7].astype(np.float32))["label_distribution"]
    np.testing.assert_allclose(enhancer.transform(X[:7], L[:7]), served.numpy(), atol=1e-5)
