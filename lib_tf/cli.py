"""The ``lib-tf`` command line."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from .data import load_ldl, make_artificial
from .metrics import METRIC_NAMES, score


def format_table(rows, columns=METRIC_NAMES) -> str:
    """Rows of ``(label, {metric: value})`` as an aligned text table."""
    width = max(len(label) for label, _ in rows) + 2
    lines = [" " * width + "".join(f"{c[:12]:>13}" for c in columns)]
    for label, values in rows:
        lines.append(f"{label:<{width}}" + "".join(f"{values[c]:>13.4f}" for c in columns))
    return "\n".join(lines)


def _cmd_demo(args) -> int:
    dataset = make_artificial()
    D, L = dataset.distributions, dataset.logical_labels
    print(f"{dataset}: feature-free references (lower is better for the first four)")
    naive = L / L.sum(axis=1, keepdims=True)
    softmax = np.exp(L) / np.exp(L).sum(axis=1, keepdims=True)
    rows = [("l / sum(l)", score(D, naive)), ("softmax(l)", score(D, softmax))]
    print(format_table(rows))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "demo_metrics.json").write_text(json.dumps(dict(rows), indent=2))
    print(f"wrote {out / 'demo_metrics.json'}")
    return 0


def _cmd_info(args) -> int:
    dataset = load_ldl(args.dataset)
    print(dataset)
    print(f"source: {dataset.source or 'generated'}")
    print(f"relevant labels per instance: {dataset.logical_labels.sum(axis=1).mean():.2f} on average")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lib-tf", description="Label Enhancement with the Label Information Bottleneck")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run the main job on the built-in toy set")
    demo.add_argument("--out", default="demo_output", help="folder for the outputs")
    demo.set_defaults(func=_cmd_demo)
    info = sub.add_parser("info", help="describe a data set")
    info.add_argument("dataset", help="data set name (looked up in $LIB_TF_DATA) or .mat path")
    info.set_defaults(func=_cmd_info)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (FileNotFoundError, ValueError) as error:
        print(f"lib-tf {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
