"""Where the classical baselines stop being practical: each one fitted on the scale
benchmark's generated problem (d = 128, c = 20) at a few small n, each in a fresh process
(seconds and peak resident memory), and the growth exponents between the two largest n
extrapolated to the size where a fit passes one hour or 3 GB.

    python benchmarks/scale_baselines.py --sizes 1000 2000 4000

The extrapolation is a power law through two points, so it is an order of magnitude, not a
prediction; the docstrings' cost formulas (see benchmarks/SCALE.md) say which term wins.
"""
from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

METHODS = ("FCM", "KM", "LP", "ML", "GLLE", "LESC", "gLESC", "LEVI")
#: Leading-order growth of time and of memory in n, from each module's docstring (default
#: settings: LP's full graph, brute-force kNN for d = 128). At n <= a few thousand fixed costs
#: hide these, so the fitted exponents come out smaller; the practical limits below are
#: extrapolated from the largest measured n with these exponents.
ASYMPTOTIC = {"FCM": (1, 1), "KM": (2, 1), "LP": (2, 2), "ML": (2, 1), "GLLE": (2, 1), "LESC": (3, 2),
              "gLESC": (3, 2), "LEVI": (1, 1)}
HOUR, MEMORY_MB = 3600.0, 3 * 1024.0


def run_one(method: str, n: int) -> dict:
    import numpy as np

    from lib_tf.baselines import get_method
    from scale_benchmark import generated_chunks

    X, L, _ = next(generated_chunks(n, 128, 20, chunk=n))
    X, L = X.astype(np.float64), L.astype(np.float64)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    start = time.perf_counter()
    get_method(method)().fit_transform(X, L)
    seconds = time.perf_counter() - start
    return {"method": method, "n": n, "seconds": round(seconds, 3),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1),
            "rss_before_fit_mb": round(base, 1)}


def extrapolate(rows) -> dict:
    """Power-law exponents of time and of memory above the process baseline between the two
    largest sizes, and the n where a fit would pass an hour / 3 GB."""
    rows = sorted(rows, key=lambda r: r["n"])
    if len(rows) < 2:
        return {}
    a, b = rows[-2], rows[-1]
    ratio = math.log(b["n"] / a["n"])
    out = {}
    t_exp = math.log(max(b["seconds"], 1e-3) / max(a["seconds"], 1e-3)) / ratio
    out["time_exponent"] = round(t_exp, 2)
    if t_exp > 0.1:
        out["n_at_one_hour"] = int(b["n"] * (HOUR / b["seconds"]) ** (1 / t_exp))
    grow_a = max(a["peak_rss_mb"] - a["rss_before_fit_mb"], 1.0)
    grow_b = max(b["peak_rss_mb"] - b["rss_before_fit_mb"], 1.0)
    m_exp = math.log(grow_b / grow_a) / ratio
    out["memory_exponent"] = round(m_exp, 2)
    if m_exp > 0.1:
        out["n_at_3GB"] = int(b["n"] * ((MEMORY_MB - b["rss_before_fit_mb"]) / grow_b) ** (1 / m_exp))
    method = b.get("method")
    if method in ASYMPTOTIC:
        t_k, m_k = ASYMPTOTIC[method]
        out["asymptotic_exponents"] = [t_k, m_k]
        out["n_at_one_hour_asymptotic"] = int(b["n"] * (HOUR / max(b["seconds"], 1e-3)) ** (1 / t_k))
        out["n_at_3GB_asymptotic"] = int(b["n"] * ((MEMORY_MB - b["rss_before_fit_mb"]) / grow_b) ** (1 / m_k))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 2000, 4000])
    parser.add_argument("--methods", nargs="+", default=list(METHODS))
    parser.add_argument("--timeout", type=int, default=300, help="seconds allowed per fit")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "scale_baselines.json"))
    parser.add_argument("--one", nargs=2, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--summarize", default=None, help="recompute the extrapolation of a results JSON")
    args = parser.parse_args(argv)
    if args.summarize:
        data = json.loads(Path(args.summarize).read_text())
        data["extrapolation"] = {m: extrapolate([r for r in data["results"] if r["method"] == m and r.get("seconds")])
                                 for m in dict.fromkeys(r["method"] for r in data["results"])}
        Path(args.summarize).write_text(json.dumps(data, indent=2))
        print(json.dumps(data["extrapolation"], indent=1))
        return 0
    if args.one:
        print("RESULT " + json.dumps(run_one(args.one[0], int(args.one[1]))), flush=True)
        return 0
    results, summary = [], {}
    for method in args.methods:
        rows = []
        for n in args.sizes:
            try:
                process = subprocess.run([sys.executable, __file__, "--one", method, str(n)], capture_output=True,
                                         text=True, timeout=args.timeout)
            except subprocess.TimeoutExpired:
                rows.append({"method": method, "n": n, "seconds": None, "note": f"over {args.timeout} s"})
                break
            lines = [line for line in process.stdout.splitlines() if line.startswith("RESULT ")]
            if not lines:
                rows.append({"method": method, "n": n, "seconds": None, "note": process.stderr[-300:]})
                break
            rows.append(json.loads(lines[-1][7:]))
            print(json.dumps(rows[-1]), flush=True)
        results += rows
        summary[method] = extrapolate([r for r in rows if r.get("seconds") is not None])
        print(method, summary[method], flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"command": "python benchmarks/scale_baselines.py " + " ".join(sys.argv[1:]),
                               "results": results, "extrapolation": summary}, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
