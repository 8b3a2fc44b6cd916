import os
from pathlib import Path

import pytest

DATA_DIR = Path(os.environ.get("LIB_TF_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "ldl"))


def _require_data():
    if not (DATA_DIR / "SJAFFE.mat").is_file():
        message = f"LDL data folder not found at {DATA_DIR} (set LIB_TF_DATA)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def data_dir():
    _require_data()
    return DATA_DIR


@pytest.fixture(autouse=True)
def _data_env(monkeypatch):
    monkeypatch.setenv("LIB_TF_DATA", str(DATA_DIR))


@pytest.fixture(scope="session")
def sjaffe_label_aware_fit(data_dir):
    """LA-LIB's truth-free fit on SJAFFE (``LabelEnhancer.label_aware``: no ground truth seen,
    the read-out chosen by its cross-fitted posterior) at 150 epochs of smaller networks
    (latent 32, hidden 64, heads 32): ``(data, enhancer)``. One fit per test process for the
    tests of its quality and of serving it; they only read it."""
    from lib_tf import LabelEnhancer
    from lib_tf.data import load_ldl

    data = load_ldl(data_dir / "SJAFFE.mat")
    enhancer = LabelEnhancer.label_aware(epochs=150, random_state=0, latent_dim=32, hidden_units=64, head_units=32)
    return data, enhancer.fit(data.features, data.logical_labels)
