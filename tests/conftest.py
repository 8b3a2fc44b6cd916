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
