"""Resident memory of one process over many ``LabelEnhancer`` fits.

    python benchmarks/memory_growth.py [--fits 50] [--dataset SJAFFE] [--epochs 2] [--without-release]

Fits a paper-size ``LabelEnhancer`` (its defaults: three layers of 256 units, a 256-wide
latent space) ``--fits`` times on one data set in one process, a seed per fit, each fitted
model dropped when the next is made, as a notebook loop that reassigns its variable does.
Prints the resident set size (RSS, from /proc) after one warm-up fit (imports, TensorFlow's
first-trace caches) and every 10 fits, and the growth over the ``--fits`` fits: what the
process keeps per fit. ``--without-release`` fits the way the code did before each fit
released its gradient registrations (``lib_tf._keras_state.released_gradient_registrations``
replaced by a no-op), for the figure it improves on. Epochs do not change what a fit keeps
(the traced step is the same), so a few keep the run short.
"""
from __future__ import annotations

import argparse
import contextlib
import gc
import os
import sys
import time


def rss_mb() -> float:
    """This process's resident set size in MB (Linux /proc; else the peak, from resource)."""
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20
    except OSError:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fits", type=int, default=50)
    parser.add_argument("--dataset", default="SJAFFE", help="a data set name or .mat path (default SJAFFE)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--without-release", action="store_true",
                        help="do not release each fit's gradient registrations (the code before)")
    args = parser.parse_args(argv)

    from lib_tf import LabelEnhancer, load_ldl
    from lib_tf import _keras_state

    if args.without_release:
        _keras_state.released_gradient_registrations = contextlib.nullcontext
    data = load_ldl(args.dataset)
    print(f"command: python benchmarks/memory_growth.py --fits {args.fits} --dataset {args.dataset} "
          f"--epochs {args.epochs}" + (" --without-release" if args.without_release else ""))
    print(f"data: {data.name}, n={data.n_instances}, d={data.n_features}, c={data.n_labels}; "
          f"LabelEnhancer defaults, epochs={args.epochs}")

    def fit(seed):
        enhancer = LabelEnhancer(epochs=args.epochs, random_state=seed).fit(data.features, data.logical_labels)
        return enhancer.distributions_.shape

    fit(0)  # warm-up
    gc.collect()
    start_rss, start = rss_mb(), time.perf_counter()
    print(f"after the warm-up fit: RSS {start_rss:.0f} MB")
    for i in range(1, args.fits + 1):
        fit(i)
        if i % 10 == 0 or i == args.fits:
            gc.collect()
            print(f"after {i:>3} more fits: RSS {rss_mb():.0f} MB (+{rss_mb() - start_rss:.0f} MB)", flush=True)
    growth = rss_mb() - start_rss
    print(f"growth over {args.fits} fits: {growth:.0f} MB ({growth / args.fits:.1f} MB per fit) in "
          f"{time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
