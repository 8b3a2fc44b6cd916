"""The label-aware model's shipped settings, as the zero-truth protocol chooses them: the grid
point and read-out temperatures with the lowest geometric mean of KL over all 13 paper data
sets (seed 0), read from a finished benchmark's runs (nothing is fitted). Prints the choice,
the settings shipped in ``lib_tf.enhancer.LABEL_AWARE_DEFAULTS`` and whether they agree.

    python benchmarks/label_aware_defaults.py [--results benchmarks/results]
"""
import argparse
import sys

from lib_tf.benchmark import Benchmark
from lib_tf.benchmark.methods import default_methods
from lib_tf.data import PAPER_DATASETS
from lib_tf.enhancer import LABEL_AWARE_DEFAULTS


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", default="benchmarks/results", help="a benchmark's output folder")
    args = parser.parse_args(argv)
    spec = default_methods()["LA-LIB"]
    bench = Benchmark(args.results, {spec.name: spec}, PAPER_DATASETS, [0], progress=False)
    params, readout = bench.choose_across(spec, list(PAPER_DATASETS))
    temperature, label_temperature = (float(t) for t in readout.split("/"))
    chosen = {"model": "label-aware", **params, "temperature": temperature,
              "label_temperature": None if label_temperature == float("inf") else label_temperature}
    print(f"command: python benchmarks/label_aware_defaults.py --results {args.results}")
    print(f"zero-truth choice over the {len(PAPER_DATASETS)} paper data sets: {chosen}")
    print(f"shipped LABEL_AWARE_DEFAULTS:                    {LABEL_AWARE_DEFAULTS}")
    agree = all(LABEL_AWARE_DEFAULTS.get(name) == value for name, value in chosen.items())
    print("they agree" if agree else "they DIFFER: update lib_tf/enhancer.py")
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
