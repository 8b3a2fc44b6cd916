"""``lib-tf info``: describe a data set (:func:`lib_tf.data.load_ldl`)."""
from __future__ import annotations


def add_info_parser(subparsers):
    """Register ``lib-tf info`` on the ``lib-tf`` sub-command parsers."""
    info = subparsers.add_parser("info", help="describe a data set")
    info.add_argument("dataset", help="data set name (looked up in $LIB_TF_DATA) or .mat path")
    info.set_defaults(func=cmd_info)
    return info


def cmd_info(args) -> int:
    """Run ``lib-tf info``: load, print."""
    from ..data import load_ldl

    dataset = load_ldl(args.dataset)
    print(dataset)
    print(f"source: {dataset.source or 'generated'}")
    print(f"relevant labels per instance: {dataset.logical_labels.sum(axis=1).mean():.2f} on average")
    return 0
