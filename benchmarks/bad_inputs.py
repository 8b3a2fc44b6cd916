"""Feed every public entry of lib_tf bad and odd input and count what comes back.

Entries: ``LabelEnhancer`` (a tiny network, one epoch) and every baseline of
``lib_tf.baselines`` (``fit_transform`` then ``transform``), ``lib_tf.metrics.score``,
``lib_tf.data.binarize``, ``lib_tf.data.load_ldl`` (on a ``.mat`` file written with the case's
arrays) and the command line (``lib-tf enhance --features F --labels L``, in process).

Inputs (Hypothesis strategies, shared with ``tests/test_properties.py``): shapes from 0 to 16
rows, 1-D and 3-D arrays, dtypes (float64, float32, int, bool, complex, strings, objects),
NaN and +-inf, negative values, all-zero rows, constant columns, one label, labels outside
{0, 1}, mismatched rows, and feature scales from 1e-300 to 1e300.

Each input must give either a clear error -- a ``ValueError`` whose message names the
argument (or, from the command line, exit status 2 and such a message; an inductive
estimator may refuse new instances so too) -- or a valid result:
label distributions of the right shape, finite, non-negative, rows summing to 1 (the six
measures: finite and within their bounds; binarize: 0/1 with a relevant label per row; the
loader: a dataset that passes the same checks). Anything else counts as a *crash* (another
exception: a traceback from inside TensorFlow, SciPy or NumPy) or as *silent nonsense*.

    python benchmarks/bad_inputs.py [--examples 200] [--slow-examples 60] [--entries score binarize ...]

prints, per entry, the inputs tried, how many were refused with a clear error, how many gave
a valid result, and the crashes and nonsense (the goal: 0 and 0), with one example of each.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import re
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SCALES = (1.0, 1e-12, 1e12, 1e-3, 1e3, 1e-30, 1e30, 1e-300, 1e300)
X_FAULTS = ("nan", "inf", "-inf", "zero_row", "constant_column", "all_constant", "negative", "int", "bool",
            "float32", "complex", "string", "object", "1-D", "3-D", "no_rows", "no_columns", "list", "huge_row")
L_FAULTS = ("one_label", "zero_row", "two", "half", "nan", "negative", "row_mismatch", "all_labels", "string",
            "1-D", "3-D", "float32", "bool", "int", "no_rows", "list")
D_FAULTS = ("negative", "nan", "inf", "unnormalised", "zero_row", "logical", "row_mismatch", "column_mismatch",
            "1-D", "string", "float32", "one_label", "tiny_error", "no_rows")

#: A LIB small enough for many examples; one epoch.
TINY_LIB = dict(epochs=1, hidden_units=4, latent_dim=2, depth=2, random_state=0)
#: Baselines with their slowest settings cut for speed (LEVI trains a network).
BASELINE_SETTINGS = {"LEVI": dict(epochs=2, hidden=4, random_state=0)}
#: The entries that train a network (a second or more per valid input).
SLOW = ("LabelEnhancer", "LEVI", "lib-tf enhance")


class Nonsense(AssertionError):
    """An entry returned a result that is not what it promises (silently wrong)."""


class UnclearError(AssertionError):
    """An entry refused an input with a ValueError that does not name the argument."""


@dataclass
class Case:
    description: str
    arrays: dict

    def __repr__(self):
        shapes = {k: getattr(v, "shape", type(v).__name__) for k, v in self.arrays.items()}
        return f"Case({self.description}, {shapes})"


# -- strategies --------------------------------------------------------------------------
def _fault(faults):
    """Half the time no fault, else one of ``faults``."""
    return st.one_of(st.just("none"), st.sampled_from(faults))


def _apply_x_fault(X, fault, rng):
    n, d = X.shape
    if fault == "nan":
        X[rng.integers(n), rng.integers(d)] = np.nan
    elif fault in ("inf", "-inf"):
        X[rng.integers(n), rng.integers(d)] = float(fault)
    elif fault == "zero_row":
        X[rng.integers(n)] = 0.0
    elif fault == "constant_column":
        X[:, rng.integers(d)] = 3.0
    elif fault == "all_constant":
        X[:] = 1.0
    elif fault == "negative":
        X = -np.abs(X)
    elif fault == "int":
        X = np.round(X).astype(np.int64) if np.isfinite(X).all() and np.abs(X).max() < 1e15 else X
    elif fault == "bool":
        X = X > 0
    elif fault == "float32":
        X = X.astype(np.float32)  # scales beyond float32 become inf or 0 here
    elif fault == "complex":
        X = X + 1j
    elif fault == "string":
        X = X.astype(str)
    elif fault == "object":
        X = X.astype(object)
    elif fault == "1-D":
        X = X[:, 0]
    elif fault == "3-D":
        X = X[:, :, None]
    elif fault == "no_rows":
        X = X[:0]
    elif fault == "no_columns":
        X = X[:, :0]
    elif fault == "list":
        X = X.tolist()
    elif fault == "huge_row":
        X[rng.integers(n)] *= 1e300
    return X


def _apply_l_fault(L, fault, rng):
    n, c = L.shape
    if fault == "one_label":
        L = np.ones((n, 1))
    elif fault == "zero_row":
        L[rng.integers(n)] = 0.0
    elif fault == "two":
        L[rng.integers(n), rng.integers(c)] = 2.0
    elif fault == "half":
        L[rng.integers(n), rng.integers(c)] = 0.5
    elif fault == "nan":
        L[rng.integers(n), rng.integers(c)] = np.nan
    elif fault == "negative":
        L[rng.integers(n), rng.integers(c)] = -1.0
    elif fault == "row_mismatch":
        L = L[:-1] if n > 1 else np.vstack([L, L])
    elif fault == "all_labels":
        L[:] = 1.0
    elif fault == "string":
        L = L.astype(str)
    elif fault == "1-D":
        L = L[:, 0]
    elif fault == "3-D":
        L = L[:, :, None]
    elif fault == "float32":
        L = L.astype(np.float32)
    elif fault == "bool":
        L = L.astype(bool)
    elif fault == "int":
        L = L.astype(np.int64)
    elif fault == "no_rows":
        L = L[:0]
    elif fault == "list":
        L = L.tolist()
    return L


@st.composite
def enhancement_cases(draw, max_rows: int = 16):
    """Features X and logical labels L, each perhaps spoiled in one way, at one of SCALES."""
    n = draw(st.sampled_from([n for n in (7, 1, 2, 3, 16) if n <= max_rows]))
    d, c = draw(st.sampled_from([3, 1, 2])), draw(st.sampled_from([3, 2, 5]))
    scale = draw(st.sampled_from(SCALES))
    x_fault, l_fault = draw(_fault(X_FAULTS)), draw(_fault(L_FAULTS))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    with np.errstate(over="ignore"):
        X = _apply_x_fault(rng.normal(size=(n, d)) * scale, x_fault, rng)
    L = (rng.random((n, c)) < 0.4).astype(np.float64)
    L[np.arange(n), rng.integers(0, c, n)] = 1.0
    L = _apply_l_fault(L, l_fault, rng)
    return Case(f"n={n} d={d} c={c} scale={scale:g} X:{x_fault} L:{l_fault}", {"X": X, "L": L})


def _distribution(rng, n, c):
    D = rng.gamma(0.5, size=(n, c))
    D[np.arange(n), rng.integers(0, c, n)] += 1e-3  # no all-zero row
    return D / D.sum(axis=1, keepdims=True)


def _apply_d_fault(D, fault, rng):
    n, c = D.shape
    if fault == "negative":
        D[rng.integers(n), rng.integers(c)] = -0.2
    elif fault == "nan":
        D[rng.integers(n), rng.integers(c)] = np.nan
    elif fault == "inf":
        D[rng.integers(n), rng.integers(c)] = np.inf
    elif fault == "unnormalised":
        D = D * 3.0
    elif fault == "zero_row":
        D[rng.integers(n)] = 0.0
    elif fault == "logical":
        D = (D > 0.2).astype(np.float64)
    elif fault == "row_mismatch":
        D = D[:-1] if n > 1 else np.vstack([D, D])
    elif fault == "column_mismatch":
        D = D[:, :-1]
    elif fault == "1-D":
        D = D[0]
    elif fault == "string":
        D = D.astype(str)
    elif fault == "float32":
        D = D.astype(np.float32)
    elif fault == "one_label":
        D = np.ones((n, 1))
    elif fault == "tiny_error":
        D = D * (1 + 1e-9)  # rounding: still a distribution
    elif fault == "no_rows":
        D = D[:0]
    return D


@st.composite
def distribution_pairs(draw):
    """Ground truth D and a recovery D_hat (n, c), each perhaps spoiled in one way."""
    n, c = draw(st.sampled_from([5, 1, 2, 30])), draw(st.sampled_from([3, 2, 6]))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    d_fault, hat_fault = draw(_fault(D_FAULTS)), draw(_fault(D_FAULTS))
    D = _apply_d_fault(_distribution(rng, n, c), d_fault, rng)
    D_hat = _apply_d_fault(_distribution(rng, n, c), hat_fault, rng)
    return Case(f"n={n} c={c} D:{d_fault} D_hat:{hat_fault}", {"D": D, "D_hat": D_hat})


@st.composite
def binarize_cases(draw):
    case = draw(distribution_pairs())
    threshold = draw(st.sampled_from([0.5, 0.0, 1.0, 0.3, -1.0, float("nan"), 0.99]))
    return Case(f"{case.description.split(' D_hat')[0]} threshold={threshold}",
                {"D": case.arrays["D"], "threshold": threshold})


MAT_FAULTS = ("no_features", "no_labels", "labels_only_logical", "string_features", "nan_labels", "wrong_rows",
              "complex_features", "3-D", "empty", "not_a_mat")


@st.composite
def mat_cases(draw):
    """Variables for a Geng-format .mat file, perhaps spoiled."""
    n, d, c = draw(st.sampled_from([6, 1, 40])), draw(st.sampled_from([3, 1])), draw(st.sampled_from([3, 2]))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    fault = draw(_fault(MAT_FAULTS))
    scale = draw(st.sampled_from(SCALES))
    variables = {"features": rng.normal(size=(n, d)) * scale, "labels": _distribution(rng, n, c)}
    if fault == "no_features":
        variables["x"] = variables.pop("features")
    elif fault == "no_labels":
        del variables["labels"]
    elif fault == "labels_only_logical":
        variables["logicalLabel"] = (variables.pop("labels") > 0.3).astype(float)
    elif fault == "string_features":
        variables["features"] = np.array(["a"] * n)
    elif fault == "nan_labels":
        variables["labels"][0, 0] = np.nan
    elif fault == "wrong_rows":
        variables["labels"] = variables["labels"][:-1] if n > 1 else np.vstack([variables["labels"]] * 2)
    elif fault == "complex_features":
        variables["features"] = variables["features"] + 1j
    elif fault == "3-D":
        variables["features"] = variables["features"][:, :, None] * np.ones(2)
    elif fault == "empty":
        variables = {"features": np.zeros((0, d)), "labels": np.zeros((0, c))}
    elif fault == "not_a_mat":
        variables = None
    return Case(f"n={n} d={d} c={c} scale={scale:g} mat:{fault}", {"variables": variables})


# -- what a valid answer is --------------------------------------------------------------
def check_distributions(out, shape, what):
    out = np.asarray(out)
    if out.shape != tuple(shape):
        raise Nonsense(f"{what}: shape {out.shape}, expected {tuple(shape)}")
    if not np.isfinite(out).all():
        raise Nonsense(f"{what}: non-finite values")
    if (out < 0).any():
        raise Nonsense(f"{what}: negative degrees ({out.min():.3g})")
    if not np.allclose(out.sum(axis=1), 1.0, atol=1e-6, rtol=0):
        raise Nonsense(f"{what}: rows sum to {out.sum(axis=1).min():.6g}..{out.sum(axis=1).max():.6g}")


def check_scores(values, c):
    """The six measures of two distributions over c labels: finite and within their bounds."""
    bounds = {"Chebyshev": (0, 1), "Clark": (0, np.sqrt(c)), "Canberra": (0, c), "Kullback-Leibler": (0, np.inf),
              "Cosine": (0, 1), "Intersection": (0, 1)}
    for name, (low, high) in bounds.items():
        value = values[name]
        if not (np.isfinite(value) and low - 1e-9 <= value <= high + 1e-9):
            raise Nonsense(f"score: {name} = {value!r} is outside [{low}, {high}]")


def require_named(error, names):
    """A ValueError must name one of ``names`` (the arguments it is about)."""
    text = str(error)
    if not any(re.search(rf"(?<![A-Za-z_]){re.escape(name)}(?![A-Za-z_])", text) for name in names):
        raise UnclearError(f"ValueError that names none of {names}: {text!r}")


# -- the entries -------------------------------------------------------------------------
def run_estimator(make, case, inductive):
    """fit_transform(X, L), then transform of the same X (and of X[:2] for inductive ones)."""
    X, L = case.arrays["X"], case.arrays["L"]
    try:
        estimator = make()
        out = estimator.fit_transform(X, L)
    except ValueError as error:
        require_named(error, ("X", "L"))
        return "error"
    n, c = np.shape(L)[0], np.shape(L)[1]
    check_distributions(out, (n, c), "fit_transform")
    check_distributions(estimator.transform(X), (n, c), "transform(X)")
    if inductive:  # new instances (as a new array) may be refused, with a clear error
        try:
            new = estimator.transform(np.asarray(X, dtype=np.float64)[:2])
        except ValueError as error:
            require_named(error, ("X",))
            return "error"
        check_distributions(new, (min(2, n), c), "transform(X[:2])")
    return "valid"


def run_score(case):
    from lib_tf.metrics import score

    try:
        values = score(case.arrays["D"], case.arrays["D_hat"])
    except ValueError as error:
        require_named(error, ("D", "D_hat"))
        return "error"
    check_scores(values, np.shape(case.arrays["D"])[1])
    return "valid"


def run_binarize(case):
    from lib_tf.data import binarize

    D = case.arrays["D"]
    try:
        L = binarize(D, case.arrays["threshold"])
    except ValueError as error:
        require_named(error, ("D", "threshold"))
        return "error"
    if L.shape != np.shape(D) or not np.isin(L, (0.0, 1.0)).all() or (L.sum(axis=1) < 1).any():
        raise Nonsense(f"binarize: not logical labels with a relevant label per row: {L!r}")
    return "valid"


def run_load_ldl(case, folder):
    import scipy.io

    from lib_tf.data import load_ldl

    path = Path(folder) / "case.mat"
    variables = case.arrays["variables"]
    if variables is None:
        path.write_bytes(b"this is not a MATLAB file")
    else:
        scipy.io.savemat(path, variables)
    try:
        data = load_ldl(path)
    except ValueError as error:
        require_named(error, (str(path), "features", "labels", "labelDistribution", "logicalLabel",
                              "distributions", "logical_labels"))
        return "error"
    if data.distributions is not None:
        check_distributions(data.distributions, data.logical_labels.shape, "load_ldl distributions")
    if not np.isin(data.logical_labels, (0.0, 1.0)).all() or not np.isfinite(data.features).all():
        raise Nonsense("load_ldl: invalid dataset")
    return "valid"


def run_cli(case, folder):
    from lib_tf.cli import main

    folder = Path(folder)
    paths = {}
    for name in ("X", "L"):
        array = case.arrays[name]
        paths[name] = folder / f"{name}.npy"
        try:
            np.save(paths[name], np.asarray(array), allow_pickle=False)
        except ValueError:  # object arrays cannot be written without pickle: a CSV of their text
            paths[name] = folder / f"{name}.csv"
            paths[name].write_text("\n".join(",".join(map(str, np.atleast_1d(row))) for row in np.asarray(array)))
    hparams = folder / "tiny.json"
    hparams.write_text(json.dumps({k: v for k, v in TINY_LIB.items() if k != "random_state"}))
    out = folder / "out"
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = main(["enhance", "--features", str(paths["X"]), "--labels", str(paths["L"]), "--hparams", str(hparams),
                       "--quiet", "--overwrite", "--out", str(out)])
    if status == 2:
        message = err.getvalue()
        if "lib-tf enhance: error:" not in message:
            raise UnclearError(f"exit status 2 without an error line: {message!r}")
        require_named(message, ("--features", "--labels", "features", "logical_labels", "X", "L"))
        return "error"
    if status != 0:
        raise Nonsense(f"exit status {status}")
    n, c = np.shape(case.arrays["L"])[:2]
    check_distributions(np.load(out / "distributions.npy"), (n, c), "lib-tf enhance")
    return "valid"


def estimator_entries():
    """``{name: (factory, inductive)}`` for LabelEnhancer and every baseline."""
    from lib_tf import LabelEnhancer
    from lib_tf.baselines import METHODS, get_method

    entries = {"LabelEnhancer": (lambda: LabelEnhancer(**TINY_LIB), True)}
    for name in METHODS:
        cls = get_method(name)
        entries[name] = ((lambda cls=cls, name=name: cls(**BASELINE_SETTINGS.get(name, {}))), cls.inductive)
    return entries


def entries():
    """``{entry name: (strategy, run(case, folder) -> "error" | "valid")}``."""
    table = {name: (enhancement_cases(), lambda case, folder, make=make, inductive=inductive:
                    run_estimator(make, case, inductive))
             for name, (make, inductive) in estimator_entries().items()}
    table["score"] = (distribution_pairs(), lambda case, folder: run_score(case))
    table["binarize"] = (binarize_cases(), lambda case, folder: run_binarize(case))
    table["load_ldl"] = (mat_cases(), run_load_ldl)
    table["lib-tf enhance"] = (enhancement_cases(max_rows=7), run_cli)
    return table


# -- the script --------------------------------------------------------------------------
def tally(strategy, run, examples):
    """Run ``examples`` Hypothesis inputs (derandomised: the same ones every time) through one
    entry; returns the counts by outcome and the first example of each problem."""
    counts, first = Counter(), {}

    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def trial(case):
        with tempfile.TemporaryDirectory() as folder:
            try:
                outcome = run(case, folder)
            except Nonsense as problem:
                outcome, detail = "nonsense", str(problem)
            except UnclearError as problem:
                outcome, detail = "unclear error", str(problem)
            except Exception as problem:  # noqa: BLE001 -- counting every crash is the point
                outcome, detail = "crash", f"{type(problem).__name__}: {problem}"
            else:
                detail = None
        counts[outcome] += 1
        if detail is not None and outcome not in first:
            first[outcome] = f"{case!r}: {detail[:300]}"

    trial()
    return counts, first


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=200, help="inputs per entry (default 200)")
    parser.add_argument("--slow-examples", type=int, default=60,
                        help=f"inputs per entry that trains a network: {', '.join(SLOW)} (default 60)")
    parser.add_argument("--entries", nargs="*", help="default: all")
    args = parser.parse_args(argv)
    table = entries()
    names = args.entries or list(table)
    print(f"command: python benchmarks/bad_inputs.py --examples {args.examples} --slow-examples {args.slow_examples}"
          + (f" --entries {' '.join(names)}" if args.entries else ""))
    print(f"{'entry':<16}{'inputs':>8}{'refused':>9}{'valid':>7}{'crashes':>9}{'nonsense':>10}{'unclear':>9}{'seconds':>9}")
    totals, problems = Counter(), []
    for name in names:
        strategy, run = table[name]
        start = time.perf_counter()
        counts, first = tally(strategy, run, args.slow_examples if name in SLOW else args.examples)
        seconds = time.perf_counter() - start
        totals.update(counts)
        print(f"{name:<16}{sum(counts.values()):>8}{counts['error']:>9}{counts['valid']:>7}{counts['crash']:>9}"
              f"{counts['nonsense']:>10}{counts['unclear error']:>9}{seconds:>9.1f}", flush=True)
        problems += [f"  {name} {kind}: {text}" for kind, text in first.items()]
    print(f"{'total':<16}{sum(totals.values()):>8}{totals['error']:>9}{totals['valid']:>7}{totals['crash']:>9}"
          f"{totals['nonsense']:>10}{totals['unclear error']:>9}")
    if problems:
        print("first of each problem:\n" + "\n".join(problems))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
