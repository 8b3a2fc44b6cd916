import json

import numpy as np
import pytest

from lib_tf.cli import main


def test_enhance_writes_results_scores_and_refuses_to_overwrite(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 4))
    L = (rng.random((40, 3)) > 0.5).astype(float)
    L[:, 0] = 1
    D = (L + 0.2) / (L + 0.2).sum(1, keepdims=True)
    for name, array in (("x.npy", X), ("l.csv", L), ("d.npy", D)):
        (np.save if name.endswith("npy") else lambda p, a: np.savetxt(p, a, delimiter=","))(tmp_path / name, array)
    out = tmp_path / "out"
    args = ["enhance", "--features", str(tmp_path / "x.npy"), "--labels", str(tmp_path / "l.csv"),
            "--distributions", str(tmp_path / "d.npy"), "--epochs", "2", "--quiet", "--out", str(out)]
    assert main(args) == 0
    recovered = np.load(out / "distributions.npy")
    assert recovered.shape == (40, 3)
    np.testing.assert_allclose(recovered.sum(1), 1, atol=1e-5)
    settings = json.loads((out / "settings.json").read_text())
    assert settings["epochs_run"] == 2 and settings["n"] == 40
    printed = capsys.readouterr().out
    assert f"{settings['metrics']['LIB']['Chebyshev']:.4f}" in printed
    assert main(args) == 2
    assert "already holds a finished result" in capsys.readouterr().err
    np.testing.assert_array_equal(np.load(out / "distributions.npy"), recovered)

    with_labels = args[:-1] + [str(tmp_path / "with_labels"), "--reveal", "0.5", "--with-labels"]
    assert main(with_labels) == 0
    settings = json.loads((tmp_path / "with_labels" / "settings.json").read_text())
    # the truth here is a function of l alone, so the labels' term must be picked
    assert settings["label_temperature"] is not None
    assert "LIB+l" in capsys.readouterr().out and "LIB+l" in settings["metrics"]

    aware = args[:-1] + [str(tmp_path / "aware"), "--reveal", "0.5", "--model", "label-aware", "--beta", "3"]
    assert main(aware) == 0
    settings = json.loads((tmp_path / "aware" / "settings.json").read_text())
    # the shipped label-aware settings, with the flag given on the command line on top
    assert settings["model"] == "label-aware" and settings["beta"] == 3.0 and settings["alpha"] == 1.0
    assert settings["metrics"]["LA-LIB"]["Kullback-Leibler"] < settings["metrics"]["l / sum(l)"]["Kullback-Leibler"]


@pytest.mark.parametrize("argv, message", [
    (["info", "NoSuchSet"], "not found"),
    (["enhance", "--quiet"], "give exactly one of --dataset"),
    (["enhance", "--dataset", "Artificial", "--reveal", "1.5", "--quiet"], "--reveal must lie in"),
    (["enhance", "--dataset", "Artificial", "--with-labels", "--quiet"], "give --reveal too"),
    (["enhance", "--dataset", "Artificial", "--reveal", "0.1", "--strategy", "default", "--quiet"],
     "--reveal is not available with --input/--strategy"),
])
def test_bad_arguments_are_clean_errors(argv, message, capsys, tmp_path):
    assert main(argv + (["--out", str(tmp_path)] if argv[0] == "enhance" else [])) == 2
    assert message in capsys.readouterr().err


def test_a_kill_while_writing_leaves_no_result_that_looks_finished(tmp_path, capsys, monkeypatch):
    """distributions.npy marks a finished result: a process stopped while writing the other
    files must not leave it behind (a rerun would refuse the folder, with settings.json missing)."""
    rng = np.random.default_rng(1)
    X, L = rng.normal(size=(30, 3)), np.eye(3)[rng.integers(0, 3, 30)]
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "l.npy", L)
    out = tmp_path / "out"
    args = ["enhance", "--features", str(tmp_path / "x.npy"), "--labels", str(tmp_path / "l.npy"), "--epochs", "1",
            "--quiet", "--out", str(out)]
    real_dumps = json.dumps

    def killed(*a, **k):  # the settings are the one JSON the command writes
        raise KeyboardInterrupt("killed while writing settings.json")

    monkeypatch.setattr(json, "dumps", killed)
    with pytest.raises(KeyboardInterrupt):
        main(args)
    assert not (out / "distributions.npy").exists()
    monkeypatch.setattr(json, "dumps", real_dumps)
    assert main(args) == 0
    assert json.loads((out / "settings.json").read_text())["n"] == 30
    assert np.load(out / "distributions.npy").shape == (30, 3)
    assert sorted(p.name for p in out.iterdir()) == ["distributions.csv", "distributions.npy", "settings.json"]


def test_a_diverging_training_exits_2_naming_its_settings_and_writes_nothing(tmp_path, capsys):
    rng = np.random.default_rng(2)
    np.save(tmp_path / "x.npy", rng.normal(size=(30, 3)))
    np.save(tmp_path / "l.npy", np.eye(3)[rng.integers(0, 3, 30)])
    (tmp_path / "diverge.json").write_text(json.dumps({"learning_rate": 1e30, "epochs": 4, "hidden_units": 8, "latent_dim": 4}))
    out = tmp_path / "out"
    assert main(["enhance", "--features", str(tmp_path / "x.npy"), "--labels", str(tmp_path / "l.npy"),
                 "--hparams", str(tmp_path / "diverge.json"), "--quiet", "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert "training diverged" in error and "learning_rate=1e+30" in error
    assert not out.exists() or list(out.iterdir()) == []
