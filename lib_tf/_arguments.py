"""The `--dataset NAME | --mat PATH` input shared by the `lib-tf` sub-commands."""
from __future__ import annotations


def add_dataset_arguments(parser):
    """Add the "input (one of)" group with ``--dataset`` and ``--mat`` to ``parser``; returns
    the group so a sub-command can add its own sources (``--features``, ``--input``)."""
    source = parser.add_argument_group("input (one of)")
    source.add_argument("--dataset", help="data set name, looked up in $LIB_TF_DATA (Artificial is built in)")
    source.add_argument("--mat", help="path of a Geng-format .mat file")
    return source


def load_dataset_argument(args):
    """The :class:`~lib_tf.data.LDLDataset` named by exactly one of ``--dataset``/``--mat``."""
    from .data import load_ldl

    if bool(args.dataset) == bool(args.mat):
        raise ValueError("give exactly one of --dataset NAME or --mat PATH")
    return load_ldl(args.dataset or args.mat)
