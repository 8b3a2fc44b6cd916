import json

from lib_tf.cli import main


def test_demo_prints_real_figures(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    written = json.loads((tmp_path / "demo_metrics.json").read_text())
    assert f"{written['l / sum(l)']['Chebyshev']:.4f}" in printed


def test_missing_data_set_is_a_clean_error(capsys):
    assert main(["info", "NoSuchSet"]) == 2
    assert "not found" in capsys.readouterr().err
