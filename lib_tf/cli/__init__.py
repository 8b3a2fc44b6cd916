"""The ``lib-tf`` command line (also ``python -m lib_tf`` and ``python -m lib_tf.cli``).

Every command lives in a module of its own that parses its arguments, calls one library
function and prints what it did:

- ``enhance`` (:mod:`~lib_tf.cli.enhance`): :func:`lib_tf.recovery.recover_to_folder`;
- ``tune`` (:mod:`~lib_tf.cli.tune`): :func:`lib_tf.tuning.run_search`;
- ``export`` (:mod:`~lib_tf.cli.export`): :func:`lib_tf.publish.train_and_export`;
- ``benchmark`` (:mod:`~lib_tf.cli.benchmark`): :func:`lib_tf.benchmark.run.run_benchmark`;
- ``info`` (:mod:`~lib_tf.cli.info`): :func:`lib_tf.data.load_ldl`.

Nothing in the library imports this package.
"""
from __future__ import annotations

import argparse
import sys

from ._arguments import format_table  # noqa: F401 (re-exported: the notebooks print tables with it)
from .benchmark import add_benchmark_parser
from .enhance import add_enhance_parser
from .export import add_export_parser
from .info import add_info_parser
from .tune import add_tune_parser


def build_parser() -> argparse.ArgumentParser:
    """The ``lib-tf`` parser, one sub-parser per command (``args.func`` runs the command)."""
    parser = argparse.ArgumentParser(prog="lib-tf", description="Label Enhancement with the Label Information Bottleneck")
    sub = parser.add_subparsers(dest="command", required=True)
    add_enhance_parser(sub)
    add_info_parser(sub)
    add_benchmark_parser(sub)
    add_export_parser(sub)
    add_tune_parser(sub)
    return parser


def main(argv=None) -> int:
    """Run ``lib-tf`` with ``argv`` (default: the process's arguments).

    Returns
    -------
    int
        0 on success; 2 on bad input (a ``FileNotFoundError`` or ``ValueError``, or a check of
        streamed input that failed inside TensorFlow's pipeline), printed as ``lib-tf COMMAND:
        error: ...`` on stderr.
    """
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except Exception as error:
        message = input_error_message(error)
        if message is None:
            raise
        print(f"lib-tf {args.command}: error: {message}", file=sys.stderr)
        return 2


def input_error_message(error: BaseException):
    """What a bad-input error says, or None for any other error: a ``FileNotFoundError`` or
    ``ValueError`` as it is; a ``tf.errors.InvalidArgumentError`` (a check of streamed shards,
    run inside ``tf.data``) by the check's own message, without TensorFlow's op trace."""
    if isinstance(error, (FileNotFoundError, ValueError)):
        return str(error)
    tf = sys.modules.get("tensorflow")  # imported by the command if it ran TensorFlow at all
    if tf is None or not isinstance(error, tf.errors.InvalidArgumentError):
        return None
    text = error.message
    for opening in ("ValueError: ", "assertion failed: ["):  # raised in a NumPy reader; an in-graph check
        if opening in text:
            message = text.split(opening, 1)[1].split("\n", 1)[0].split("] [", 1)[0].rstrip("]")
            return message.replace("\\'", "'")  # the assertion's text comes with its quotes escaped
    return text.split("\n", 1)[0]
