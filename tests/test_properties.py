"""Every public entry, fed odd and bad input (Hypothesis): a clear error or a valid result.

The strategies and checks live in ``benchmarks/bad_inputs.py``, which runs many more inputs per
entry and prints the counts (``benchmarks/RELIABILITY.md``). Here each entry gets a few
derandomised examples: any other exception (a traceback from inside TensorFlow, SciPy or
NumPy), an error that does not name its argument, or a result that is not a valid answer
fails the test, and Hypothesis shrinks the input that did it.
"""
import importlib.util
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("bad_inputs", ROOT / "benchmarks" / "bad_inputs.py")
bad_inputs = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = bad_inputs  # its dataclasses look themselves up there
_spec.loader.exec_module(bad_inputs)

ESTIMATORS = bad_inputs.estimator_entries()
#: Examples per entry: the networks (LIB, LEVI) cost a second or two per valid input.
EXAMPLES = {"LabelEnhancer": 4, "LEVI": 3}


def _settings(examples):
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_estimators_answer_any_input_with_a_clear_error_or_distributions(name):
    make, inductive = ESTIMATORS[name]

    @_settings(EXAMPLES.get(name, 25))
    @given(case=bad_inputs.enhancement_cases())
    def check(case):
        bad_inputs.run_estimator(make, case, inductive)

    check()


@_settings(80)
@given(case=bad_inputs.distribution_pairs())
def test_score_refuses_what_is_not_a_distribution_and_bounds_what_is(case):
    bad_inputs.run_score(case)


@_settings(60)
@given(case=bad_inputs.binarize_cases())
def test_binarize_answers_with_logical_labels_or_a_clear_error(case):
    bad_inputs.run_binarize(case)


@_settings(40)
@given(case=bad_inputs.mat_cases())
def test_load_ldl_reads_any_mat_file_into_a_valid_dataset_or_a_clear_error(case):
    with tempfile.TemporaryDirectory() as folder:
        bad_inputs.run_load_ldl(case, folder)


@_settings(3)
@given(case=bad_inputs.enhancement_cases(max_rows=7))
def test_cli_enhance_answers_any_arrays_with_exit_2_and_a_message_or_distributions(case):
    with tempfile.TemporaryDirectory() as folder:
        bad_inputs.run_cli(case, folder)


def test_known_nonsense_is_refused():
    """Found by hand before these tests: negative degrees scored a Canberra of -151.4."""
    from lib_tf import score

    D = np.array([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]])
    with pytest.raises(ValueError, match=r"D_hat has negative degrees \(first in row 1\)"):
        score(D, np.array([[0.5, 0.3, 0.2], [-1.0, 1.2, 0.8]]))
    with pytest.raises(ValueError, match=r"D_hat rows must sum to 1 .*row 0 sums to 2"):
        score(D, 2 * D)
    with pytest.raises(ValueError, match="D must be real"):
        score(D + 0j, D)
