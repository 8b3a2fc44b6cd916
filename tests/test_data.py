import numpy as np
import pytest
import scipy.io

from lib_tf.data import LDLDataset, binarize, find_ldl, load_ldl, make_artificial

LE_NAMES = ["Artificial", "Movie", "SBU_3DFE", "SJAFFE", "Yeast_alpha", "Yeast_cdc", "Yeast_cold",
            "Yeast_diau", "Yeast_dtt", "Yeast_elu", "Yeast_heat", "Yeast_spo", "Yeast_spo5", "Yeast_spoem"]


@pytest.mark.parametrize("name", LE_NAMES)
def test_binarize_reproduces_the_literature(data_dir, name):
    le = scipy.io.loadmat(data_dir / "le" / f"{name}_binary.mat")
    D = scipy.io.loadmat(data_dir / f"{name}.mat")["labels"]
    np.testing.assert_array_equal(binarize(D), le["logicalLabel"].astype(float))


def test_binarize_includes_the_label_that_crosses_and_keeps_column_order_in_ties():
    D = np.array([[0.3, 0.3, 0.4], [0.5, 0.25, 0.25], [0.2, 0.2, 0.6]])
    # row 0: 0.4 first, then the first 0.3 crosses 0.5; row 1: after exactly 0.5 the next label still counts
    np.testing.assert_array_equal(binarize(D), [[1, 0, 1], [1, 1, 0], [0, 0, 1]])
    np.testing.assert_array_equal(binarize(np.array([[0.25, 0.25, 0.25, 0.25]])), [[1, 1, 1, 0]])


def test_artificial_matches_the_file(data_dir):
    reference = scipy.io.loadmat(data_dir / "Artificial.mat")
    toy = make_artificial()
    assert toy.features.shape == (2601, 3)
    np.testing.assert_allclose(toy.features, reference["features"], atol=1e-8, rtol=0)
    np.testing.assert_allclose(toy.distributions, reference["labels"], atol=1e-8, rtol=0)


def test_load_by_name_and_by_path(data_dir):
    by_name = load_ldl("SJAFFE")
    by_path = load_ldl(data_dir / "SJAFFE.mat")
    assert (by_name.n_instances, by_name.n_features, by_name.n_labels) == (213, 243, 6)
    np.testing.assert_array_equal(by_name.features, by_path.features)
    np.testing.assert_array_equal(by_name.logical_labels, binarize(by_name.distributions))


def test_load_le_variant(data_dir):
    le = load_ldl(data_dir / "le" / "SJAFFE_binary.mat")
    assert le.name == "SJAFFE"
    np.testing.assert_array_equal(le.logical_labels, binarize(le.distributions))


def test_missing_data_set_says_where_it_looked_and_where_to_get_it(data_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError) as error:
        load_ldl("NoSuchSet")
    text = str(error.value)
    assert "NoSuchSet.mat" in text and str(data_dir) in text and str(tmp_path) in text
    assert "Geng" in text and "LIB_TF_DATA" in text


def test_missing_path_is_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match="no LDL file"):
        find_ldl(tmp_path / "absent.mat")


def test_artificial_is_generated_when_no_file(monkeypatch, tmp_path):
    monkeypatch.setenv("LIB_TF_DATA", str(tmp_path))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert load_ldl("Artificial").n_instances == 2601


GOOD_X = np.zeros((3, 2))
GOOD_D = np.array([[0.5, 0.5], [1.0, 0.0], [0.2, 0.8]])
GOOD_L = np.array([[1, 0], [1, 0], [0, 1]])


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        (dict(features=np.zeros((2, 2))), r"row counts differ: features has 2"),
        (dict(features=np.array([[0, 0], [np.nan, 0], [0, 0]])), r"features has NaN or inf values \(first in row 1\)"),
        (dict(features=np.array([[0, 0], [0, 0], [np.inf, 0]])), r"features has NaN or inf values \(first in row 2\)"),
        (dict(distributions=np.array([[0.5, 0.5], [1.2, -0.2], [0.2, 0.8]])), r"distributions has negative degrees \(first in row 1\)"),
        (dict(distributions=np.array([[0.5, 0.5], [1.0, 0.0], [0.2, 0.7]])), r"distributions rows must sum to 1.*row 2 sums to 0.9"),
        (dict(logical_labels=np.array([[1, 0], [2, 0], [0, 1]])), r"logical_labels must hold logical labels in \{0, 1\}; row 1, column 0"),
        (dict(logical_labels=np.array([[1, 0], [0, 0], [0, 1]])), r"logical_labels row 1 has no relevant label"),
        (dict(features=np.zeros(3)), r"features must be a 2-D array"),
        (dict(distributions=np.full((3, 3), 1 / 3)), r"distributions has 3 labels but logical_labels has 2"),
    ],
)
def test_bad_input_names_argument_and_row(kwargs, pattern):
    fields = dict(features=GOOD_X, distributions=GOOD_D, logical_labels=GOOD_L)
    fields.update(kwargs)
    with pytest.raises(ValueError, match=pattern):
        LDLDataset("bad", **fields)


def test_binarize_refuses_non_distributions():
    with pytest.raises(ValueError, match="D rows must sum to 1"):
        binarize(np.array([[0.2, 0.2]]))
