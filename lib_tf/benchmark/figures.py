"""The benchmark's pictures: the toy set by every method, LIB's alpha x beta sensitivity, ranks."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .._keras_state import released_keras_state
from ..data import load_ldl, make_artificial
from ..metrics import METRIC_NAMES
from ..plots import plot_ranks, plot_sensitivity, plot_toy_recovery
from .methods import PAPER_PICTURE, MethodSpec
from .report import rank_table, split_table
from .store import measures

SENSITIVITY_GRID = (0.001, 0.01, 0.1, 1.0, 10.0)


def draw_figures(bench, table: dict, figures_dir, sensitivity: bool = True):
    """The toy set recovered by every method (Fig. 3; each method's first grid point and its
    picture read-out, T = 1 for LIB), LIB's alpha x beta sensitivity on SBU_3DFE (Fig. 4,
    T = 1, seed 0; 25 fits, resumable) and per-metric rank charts over the paper's data sets."""
    figures_dir = Path(figures_dir)
    written = []
    toy = make_artificial()
    panels = {"ground truth": toy.distributions}
    for name, spec in bench.methods.items():
        if spec.readouts is not None and spec.picture is None:  # LIB+l: one of many read-outs of LIB's fit
            continue
        with released_keras_state():
            output = np.asarray(spec.fit(toy.features, toy.logical_labels, spec.grid[0], 0), dtype=np.float64)
        panels[name] = spec.read_out(output, toy.logical_labels)[spec.picture] if spec.readouts is not None else output
    written.append(plot_toy_recovery(toy.features, panels, figures_dir / "toy_all_methods.png",
                                     title="Artificial: label distributions as RGB (first grid point, T = 1)"))
    if sensitivity and "LIB" in bench.methods:
        data = load_ldl("SBU_3DFE")
        lib = bench.methods["LIB"]
        spec = MethodSpec("LIB", lib.fit, seeded=True, readouts=lib.readouts)
        grids = {m: np.zeros((len(SENSITIVITY_GRID), len(SENSITIVITY_GRID))) for m in ("Chebyshev", "Cosine", "Intersection")}
        for i, alpha in enumerate(SENSITIVITY_GRID):
            for j, beta in enumerate(SENSITIVITY_GRID):
                run = bench._run(spec, data, 0, {"alpha": alpha, "beta": beta})
                figures = measures(run, PAPER_PICTURE)
                for metric in grids:
                    grids[metric][i, j] = figures[metric]
        written.append(plot_sensitivity(grids, SENSITIVITY_GRID, SENSITIVITY_GRID, figures_dir / "lib_sensitivity_SBU_3DFE.png",
                                        title="LIB on SBU_3DFE: alpha x beta (T = 1, seed 0)"))
    for protocol, by_dataset in table.items():
        in_paper = split_table(by_dataset)[0] or by_dataset
        ranks = {metric: rank_table(in_paper, metric) for metric in METRIC_NAMES}
        written.append(plot_ranks(ranks, figures_dir / f"ranks_{protocol}.png", title=f"Average ranks ({protocol} protocol)"))
    return written
