"""Keras Tuner over LIB: tiny data, 1-2 epochs, tiny networks."""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from lib_tf._keras_state import _custom_gradient_registry
from lib_tf.data import binarize, split_instances
from lib_tf.hparams import load_hparams, load_presets, preset_params, save_hparams, validate_hparams
from lib_tf.metrics import kullback_leibler
from lib_tf.tuning import HPARAMS_FILE, make_tuner

TINY = {"latent_dim": (4,), "hidden_units": (8,), "batch_size": (16,), "learning_rate": (1e-3, 1e-2)}
#: The label-aware model's space, as small; its encoder's width is fixed, not searched.
TINY_LABEL_AWARE = {"latent_dim": (4,), "head_units": (8,), "batch_size": (16,), "learning_rate": (1e-3, 1e-2)}
LABEL_AWARE = {"model": "label-aware", "hidden_units": 8}
REPO = Path(__file__).resolve().parents[1]


def tiny_data(n=40, d=4, c=3, seed=0):
    rng = np.random.default_rng(seed)
    D = rng.dirichlet(np.ones(c), size=n)
    return rng.normal(size=(n, d)), binarize(D), D


def tiny_mat(path):
    X, _, D = tiny_data()
    scipy.io.savemat(path, {"features": X, "labels": D})
    return path


def test_split_takes_the_first_of_a_seeded_permutation():
    first, rest = split_instances(50, 0.1, 0)
    assert len(first) == 5 and len(rest) == 45 and not set(first) & set(rest)
    np.testing.assert_array_equal(first, np.sort(np.random.default_rng(0).permutation(50)[:5]))


@pytest.mark.parametrize("kind", ["random", "bayesian", "hyperband"])
def test_each_tuner_trains_a_trial_and_gives_enhancer_arguments(kind, tmp_path):
    from lib_tf import LabelEnhancer

    X, L, D = tiny_data()
    seen = []
    hyperband = kind == "hyperband"  # max_epochs 3, factor 3: three 1-epoch trials, then one continued to 3
    tuner = make_tuner(kind, L.shape[1], tmp_path, trials=4 if hyperband else 1, max_epochs=3 if hyperband else 2,
                       min_epochs=1, space=TINY, progress=lambda t, trial: seen.append(trial.trial_id))
    registered_before = set(_custom_gradient_registry())
    tuner.search(X, L, distributions=D, verbose=0)
    assert len(seen) == (4 if kind == "hyperband" else 1)
    assert set(_custom_gradient_registry()) <= registered_before  # each trial's traced steps released
    if kind != "hyperband":  # the first trial of a fresh search is LabelEnhancer's defaults, within the space
        first = tuner.oracle.trials[min(tuner.oracle.trials)].hyperparameters.values
        assert (first["alpha"], first["beta"], first["learning_rate"], first["latent_dim"], first["epochs"]) == (1e-3, 1.0, 1e-3, 4, 2)
    if kind == "hyperband":  # a trial continued from another's checkpoint (Keras Tuner reloads it)
        assert any(t.hyperparameters.values.get("tuner/initial_epoch", 0) > 0 for t in tuner.oracle.trials.values())
    trial = min(tuner.oracle.trials.values(), key=lambda t: t.score)
    assert np.isfinite(trial.score) and trial.score >= 0
    params = tuner.hypermodel.best_hparams(trial)
    assert set(params) >= {"alpha", "beta", "temperature", "learning_rate", "latent_dim", "hidden_units",
                           "batch_size", "epochs", "random_state"}
    assert 1e-3 <= params["alpha"] <= 10 and 1e-3 <= params["beta"] <= 10 and params["epochs"] <= 3
    enhancer = LabelEnhancer(**params).fit(X, L)
    np.testing.assert_allclose(enhancer.distributions_.sum(1), 1, atol=1e-5)


def test_truth_free_objective_needs_no_ground_truth(tmp_path):
    from lib_tf import LabelEnhancer

    X, L, _ = tiny_data()
    tuner = make_tuner("random", L.shape[1], tmp_path, objective="truth-free", trials=1, max_epochs=1, space=TINY)
    tuner.search(X, L, verbose=0)
    (trial,) = tuner.oracle.trials.values()
    assert np.isfinite(trial.score) and trial.score >= 0
    assert trial.score == trial.metrics.get_last_value("heldout_expected_kl")
    assert trial.metrics.get_last_value("temperature") > 0  # the read-out it picked
    best = tuner.hypermodel.best_hparams(trial)
    assert best["readout"] == "truth-free" and "temperature" not in best  # the final fit picks its own
    enhancer = LabelEnhancer(**best, readout_folds=2).fit(X, L)
    assert enhancer.readout_choice_["temperature"] == enhancer.temperature_


@pytest.mark.parametrize("objective", ["revealed", "truth-free"])
def test_label_aware_trials_search_its_space_and_read_out_with_the_labels(objective, tmp_path):
    from lib_tf import LabelEnhancer

    X, L, D = tiny_data()
    tuner = make_tuner("random", L.shape[1], tmp_path, objective=objective, trials=2, max_epochs=2, min_epochs=1,
                       space=TINY_LABEL_AWARE, fixed=LABEL_AWARE, n_instances=len(X))
    tuner.search(X, L, distributions=D, verbose=0)
    trials = sorted(tuner.oracle.trials.values(), key=lambda t: t.trial_id)
    first = trials[0].hyperparameters.values  # the shipped label_aware() settings, within the space
    assert (first["alpha"], first["beta"], first["label_dropout"], first["head_units"]) == (1.0, 10.0, 0.5, 8)
    assert "hidden_units" not in first and 0 <= trials[1].hyperparameters.values["label_dropout"] <= 0.75
    best_trial = min(trials, key=lambda t: t.score)
    assert {"temperature", "label_temperature"} <= set(best_trial.metrics.metrics)
    best = tuner.hypermodel.best_hparams(best_trial)
    assert best["model"] == "label-aware" and best["hidden_units"] == 8
    enhancer = LabelEnhancer(**best).fit(X, L)
    if objective == "truth-free":
        assert best["readout"] == "truth-free"
    else:  # the refit repeats the trial: same model, same read-out, same revealed KL
        assert enhancer.temperature_ == best["temperature"] == best_trial.metrics.get_last_value("temperature")
        revealed, _ = split_instances(len(X), 0.1, 0)
        refit = kullback_leibler(D[revealed], enhancer.distributions_[revealed])
        assert refit == pytest.approx(best_trial.score, rel=1e-5)
    np.testing.assert_allclose(enhancer.transform(X, L).sum(1), 1, atol=1e-5)


def test_label_aware_space_is_refused_to_the_paper_model_and_fixed_readouts_to_label_aware(tmp_path):
    from lib_tf.tuning.hypermodel import LIBHyperModel

    with pytest.raises(ValueError, match=r"unknown search-space entries \['label_dropout'\] for model='paper'"):
        LIBHyperModel(3, space={"label_dropout": (0.1,)})
    with pytest.raises(ValueError, match="temperature must be 'select' for the label-aware model"):
        LIBHyperModel(3, fixed=LABEL_AWARE, temperature=2.0)
    with pytest.raises(ValueError, match="fixed\\['model'\\] must be one of"):
        LIBHyperModel(3, fixed={"model": "other"})


def test_hparams_json_round_trip_and_validation(tmp_path):
    from lib_tf import LabelEnhancer

    params = {"model": "paper", "alpha": 0.05, "beta": 2.0, "temperature": 1.5, "learning_rate": 0.003,
              "latent_dim": 32, "hidden_units": 64, "batch_size": 64, "epochs": 50, "random_state": 0}
    path = save_hparams(params, tmp_path / "h.json")
    assert json.loads(path.read_text()) == params  # a plain dict of constructor arguments
    loaded = load_hparams(path)
    assert loaded == params
    assert {k: LabelEnhancer(**loaded).get_params()[k] for k in params} == params
    # a file from before the label-aware default names no model: read as the default, said aloud
    (tmp_path / "old.json").write_text(json.dumps({"alpha": 0.05}))
    with pytest.warns(UserWarning, match="names no model: read as the default model='label-aware'"):
        assert load_hparams(tmp_path / "old.json") == {"alpha": 0.05}
    for bad, message in (({"alpha": -1}, "alpha"), ({"gamma": 1}, "unknown"), ({"epochs": 2.5}, "epochs"),
                         ({"temperature": 0}, "temperature"), ([1, 2], "JSON object")):
        with pytest.raises(ValueError, match=message):
            validate_hparams(bad)
    (tmp_path / "broken.json").write_text("{alpha: 1")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_hparams(tmp_path / "broken.json")


def test_hparams_files_with_the_former_seed_name_still_load(tmp_path):
    (tmp_path / "old.json").write_text(json.dumps({"alpha": 1.0, "seed": 7}))
    with pytest.warns(FutureWarning, match="'seed' is deprecated.*'random_state'=7"):
        assert load_hparams(tmp_path / "old.json") == {"alpha": 1.0, "random_state": 7}
    with pytest.warns(FutureWarning):  # of both names, the later one wins, as in a dict literal
        assert validate_hparams({"random_state": 1, "seed": 2}) == {"random_state": 2}
    with pytest.raises(ValueError, match="random_state"):
        validate_hparams({"random_state": -1})
    with pytest.raises(ValueError, match="'epochs' parameter of LabelEnhancer must be a number"):
        validate_hparams({"epochs": True})  # a bool is no count, even though Python calls it an int
    assert validate_hparams({"alpha": 1}) == {"alpha": 1.0} and isinstance(validate_hparams({"alpha": 1})["alpha"], float)


def test_hparams_checks_are_the_enhancers_declared_constraints():
    from lib_tf import LabelEnhancer
    from lib_tf.hparams import LABEL_ENHANCER_CONSTRAINTS

    # every constructor argument is declared, so a file can hold any of them and nothing else
    assert set(LABEL_ENHANCER_CONSTRAINTS) == set(LabelEnhancer._get_param_names())
    assert LabelEnhancer._parameter_constraints is LABEL_ENHANCER_CONSTRAINTS
    for bad in ({"label_dropout": 1.0}, {"model": "other"}, {"head_units": 0}, {"learning_rate": float("inf")}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            validate_hparams(bad)
        with pytest.raises(ValueError, match=next(iter(bad))):
            LabelEnhancer(**bad).fit(np.zeros((4, 2)), np.eye(2)[[0, 1, 0, 1]])


@pytest.mark.parametrize("model", ["paper", "label-aware"])
def test_resume_does_not_repeat_finished_trials(model, tmp_path):
    X, L, D = tiny_data()
    first_run, second_run = [], []
    settings = dict(space=TINY, fixed=None) if model == "paper" else dict(space=TINY_LABEL_AWARE, fixed=LABEL_AWARE)
    tuner = make_tuner("random", L.shape[1], tmp_path, trials=2, max_epochs=1, **settings,
                       progress=lambda t, trial: first_run.append(trial.trial_id))
    tuner.search(X, L, distributions=D, verbose=0)
    scores = {t.trial_id: t.score for t in tuner.oracle.trials.values()}
    resumed = make_tuner("random", L.shape[1], tmp_path, trials=3, max_epochs=1, **settings,
                         progress=lambda t, trial: second_run.append(trial.trial_id))
    assert {t.trial_id: t.score for t in resumed.oracle.trials.values()} == scores
    resumed.search(X, L, distributions=D, verbose=0)
    assert len(first_run) == 2 and len(second_run) == 1 and second_run[0] not in first_run
    again = make_tuner("random", L.shape[1], tmp_path, trials=3, max_epochs=1, **settings,
                       progress=lambda t, trial: second_run.append(trial.trial_id))
    again.search(X, L, distributions=D, verbose=0)
    assert len(second_run) == 1  # nothing left to do


def test_cli_tune_then_enhance_with_the_file(tmp_path, capsys):
    from lib_tf.cli import main

    mat = tiny_mat(tmp_path / "tiny.mat")
    out = tmp_path / "search"
    tune = ["tune", "--mat", str(mat), "--tuner", "random", "--trials", "1", "--max-epochs", "1", "--out", str(out)]
    assert main(tune) == 0
    printed = capsys.readouterr().out
    assert "trial 0: revealed_kl=" in printed and "(1/1 done)" in printed
    params = load_hparams(out / HPARAMS_FILE)
    assert params["epochs"] == 1
    summary = json.loads((out / "search_summary.json").read_text())
    assert summary["trials_done"] == 1 and summary["hparams"] == params
    assert main(tune) == 0
    assert "resuming" in capsys.readouterr().out
    enhance = ["enhance", "--mat", str(mat), "--hparams", str(out / HPARAMS_FILE), "--quiet", "--out", str(tmp_path / "e")]
    assert main(enhance) == 0
    settings = json.loads((tmp_path / "e" / "settings.json").read_text())
    assert settings["alpha"] == params["alpha"] and settings["epochs_run"] == 1
    assert main(enhance[:-1] + [str(tmp_path / "e2"), "--alpha", "3"]) == 2
    assert "cannot be combined" in capsys.readouterr().err


def test_tuned_label_aware_beats_the_naive_answer_on_sjaffe(data_dir, tmp_path):
    """A short revealed search of LA-LIB (its shipped settings, then one random point; 40 epochs
    at most), refitted with the best settings: on the unrevealed 90% it must beat l / sum(l)
    (Chebyshev .213, KL 10.1) by far, and the refit must repeat the best trial."""
    from lib_tf import LabelEnhancer, load_ldl, score
    from lib_tf.tuning import run_search

    data = load_ldl("SJAFFE")
    X, L, D = data.features, data.logical_labels, data.distributions
    best = run_search(data, kind="random", trials=2, objective="revealed", out=tmp_path, max_epochs=40,
                      fixed={"model": "label-aware"})
    summary = json.loads((tmp_path / "search_summary.json").read_text())
    assert summary["model"] == "label-aware" and summary["trials_done"] == 2
    enhancer = LabelEnhancer(**best).fit(X, L)
    revealed, hidden = split_instances(len(X), 0.1, 0)
    assert kullback_leibler(D[revealed], enhancer.distributions_[revealed]) == pytest.approx(summary["best_score"], rel=1e-4)
    tuned, naive = score(D[hidden], enhancer.distributions_[hidden]), score(D[hidden], (L / L.sum(1, keepdims=True))[hidden])
    assert tuned["Chebyshev"] < 0.6 * naive["Chebyshev"] and tuned["Kullback-Leibler"] < 0.06
    assert tuned["Cosine"] > naive["Cosine"]


def test_presets_are_valid_and_usable():
    from lib_tf import LabelEnhancer

    presets = load_presets()
    assert presets, "presets.json ships no preset"
    for name, entry in presets.items():
        assert validate_hparams(entry["hparams"]) == entry["hparams"]
        assert entry["command"].startswith(("lib-tf tune", "LIB_TF_DATA"))
        # NAME-label-aware: LA-LIB's settings, found by a search of its own space
        label_aware = name.endswith("-label-aware")
        assert (entry["hparams"].get("model", "paper") == "label-aware") == label_aware
        assert ("--model label-aware" in entry["command"]) == label_aware
    label_aware = sorted(name for name in presets if name.endswith("-label-aware"))
    assert label_aware, "presets.json ships no label-aware preset"
    enhancer = LabelEnhancer.from_preset(label_aware[0])
    assert enhancer.model == "label-aware" and enhancer.label_temperature == presets[label_aware[0]]["hparams"].get("label_temperature")
    name = sorted(presets)[0]
    enhancer = LabelEnhancer.from_preset(name, random_state=3)
    assert enhancer.alpha == preset_params(name)["alpha"] and enhancer.random_state == 3
    with pytest.raises(ValueError, match="no preset named"):
        preset_params("NoSuchSet")
    from lib_tf.cli import build_parser
    from lib_tf.cli.enhance import enhancer_params

    args = build_parser().parse_args(["enhance", "--dataset", name, "--preset", name, "--seed", "2", "--quiet"])
    assert enhancer_params(args) == {**preset_params(name), "random_state": 2}


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_chief_and_worker_finish_a_search_together(tmp_path):
    mat = tiny_mat(tmp_path / "tiny.mat")
    out = tmp_path / "parallel"
    # the label-aware model: the paper model's search runs the same path with fewer inputs and metrics
    command = [sys.executable, "-m", "lib_tf.cli", "tune", "--mat", str(mat), "--model", "label-aware", "--tuner",
               "random", "--trials", "2", "--max-epochs", "1", "--out", str(out)]
    env = {**os.environ, "KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": str(_free_port()),
           "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}
    chief = subprocess.Popen(command, env={**env, "KERASTUNER_TUNER_ID": "chief"}, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    worker = subprocess.Popen(command, env={**env, "KERASTUNER_TUNER_ID": "tuner0"}, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        worker_out, _ = worker.communicate(timeout=240)
        chief_out, _ = chief.communicate(timeout=90)
    finally:
        for process in (worker, chief):
            if process.poll() is None:
                process.kill()
                process.wait()
    assert worker.returncode == 0, worker_out[-3000:]
    assert chief.returncode == 0, chief_out[-3000:]
    assert worker_out.count(" revealed_kl=") == 2 and worker_out.count(" T_l=") == 2  # the worker ran both trials
    assert "best hyper-parameters" in chief_out and "best hyper-parameters" not in worker_out
    best = load_hparams(out / HPARAMS_FILE)
    assert best["epochs"] == 1 and best["model"] == "label-aware" and "label_dropout" in best


def test_batched_start_trains_the_first_trials_together_as_each_would_alone(data_dir, tmp_path):
    """``run_search(..., batched_start=3)`` on SJAFFE (LA-LIB, revealed, 20 epochs): the first
    three trials are the shipped settings and two points with only alpha, beta and label dropout
    moved, trained as one batched fit, a member scoring what its trial run alone scores (its
    revealed KL to 1e-4 and its read-out); the search goes on to its fourth trial, the best beats
    ``l / sum(l)`` on the revealed rows by far, and a resumed search does not repeat the start."""
    from lib_tf import load_ldl
    from lib_tf.tuning import default_values, run_search

    data = load_ldl("SJAFFE")
    seen = []
    run_search(data, kind="random", trials=4, objective="revealed", out=tmp_path, max_epochs=20,
               fixed={"model": "label-aware"}, batched_start=3, progress=lambda t, trial: seen.append(trial.trial_id))
    tuner = make_tuner("random", data.n_labels, tmp_path, trials=4, max_epochs=20, fixed={"model": "label-aware"})
    trials = [tuner.oracle.trials[trial_id] for trial_id in seen]
    assert len(trials) == 4 and all(t.status == "COMPLETED" for t in trials)
    defaults = default_values(tuner.hypermodel, data.n_instances)
    assert trials[0].hyperparameters.values == defaults
    for trial in trials[1:3]:
        moved = {name for name, value in trial.hyperparameters.values.items() if value != defaults[name]}
        assert moved == {"alpha", "beta", "label_dropout"}
    hp = trials[2].hyperparameters  # a moved point, trained alone
    alone = tuner.hypermodel.fit(hp, tuner.hypermodel.build(hp), data.features, data.logical_labels,
                                 distributions=data.distributions, share=0.1, split_seed=0)
    assert trials[2].score == pytest.approx(alone["revealed_kl"], rel=1e-4)
    for name in ("temperature", "label_temperature"):
        assert trials[2].metrics.get_last_value(name) == alone[name]
    revealed, _ = split_instances(data.n_instances, 0.1, 0)
    L = data.logical_labels
    naive = kullback_leibler(data.distributions[revealed], (L / L.sum(1, keepdims=True))[revealed])
    assert min(t.score for t in trials) < 0.01 * naive
    seen.clear()
    run_search(data, kind="random", trials=5, objective="revealed", out=tmp_path, max_epochs=20,
               fixed={"model": "label-aware"}, batched_start=3, progress=lambda t, trial: seen.append(trial.trial_id))
    assert len(seen) == 1  # only the fifth trial: the start is not repeated


def test_batched_start_is_refused_where_trials_do_not_start_fresh_on_one_machine(tmp_path):
    from lib_tf.data import LDLDataset
    from lib_tf.tuning import run_search

    X, L, D = tiny_data()
    data = LDLDataset("tiny", X, D, L)
    with pytest.raises(ValueError, match="batched_start=2: .*random or Bayesian.*'hyperband'"):
        run_search(data, kind="hyperband", trials=2, out=tmp_path, batched_start=2)
    with pytest.raises(ValueError, match="batched_start must be 0 or more, got -1"):
        run_search(data, kind="random", trials=2, out=tmp_path, batched_start=-1)
