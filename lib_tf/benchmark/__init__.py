"""The benchmark: methods x data sets x seeds under three protocols (paper, blind,
zero-truth), ranks, a report beside the paper's Table 2 and pictures.

- :mod:`~lib_tf.benchmark.methods`: each method's fit, parameter grid and read-out form;
- :mod:`~lib_tf.benchmark.store`: the append-only store of finished runs;
- :mod:`~lib_tf.benchmark.protocols`: running the methods and reading the runs per protocol;
- :mod:`~lib_tf.benchmark.report`, :mod:`~lib_tf.benchmark.figures`: the report and pictures;
- :mod:`~lib_tf.benchmark.run`: one session (what ``lib-tf benchmark`` runs, parsed in :mod:`lib_tf.cli.benchmark`).
"""
from .methods import MethodSpec, default_methods
from .protocols import PROTOCOLS, Benchmark
from .report import PAPER_TABLE, compare_cells, median_worsening, paper_figures, rank_table, relative_worsening, write_report
from .run import QUICK_DATASETS, BenchmarkSession, run_benchmark
from .store import RunStore, run_key

__all__ = [
    "Benchmark", "MethodSpec", "default_methods", "PROTOCOLS", "RunStore", "run_key", "PAPER_TABLE", "paper_figures",
    "rank_table", "compare_cells",
    "relative_worsening", "median_worsening", "write_report", "run_benchmark", "BenchmarkSession",
    "QUICK_DATASETS",
]
