"""``lib-tf tune``: search LIB's hyper-parameters (:func:`lib_tf.tuning.run_search`)."""
from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

from ..hparams import MODELS
from ..tuning import (HPARAMS_FILE, OBJECTIVES, SEARCHED_MODEL, TUNERS, best_trial, completed_trials, run_search,
                      search_state_exists)
from ._arguments import add_dataset_arguments, load_dataset_argument


def add_tune_parser(subparsers):
    """Register ``lib-tf tune`` on the ``lib-tf`` sub-command parsers."""
    tune = subparsers.add_parser(
        "tune", help="search LIB's hyper-parameters with Keras Tuner",
        description="Search alpha (gap weight), beta (KL weight), learning rate, latent size, hidden width, batch "
                    "size, epochs (label-aware model: label dropout and the heads' width instead of every network's) "
                    "and the read-out; write the best as a JSON of LabelEnhancer arguments (use it with `lib-tf "
                    "enhance --hparams`). Rerunning with the same --out resumes.")
    add_dataset_arguments(tune)
    tune.add_argument("--model", choices=MODELS, default=SEARCHED_MODEL,
                      help="paper: LIB; label-aware: LA-LIB, whose posterior and read-out read the logical labels")
    tune.add_argument("--tuner", choices=TUNERS, default="bayesian")
    tune.add_argument("--trials", type=int, default=30, help="most trials (default 30)")
    tune.add_argument("--objective", choices=tuple(OBJECTIVES), default="revealed",
                      help="revealed: KL on the ground truth of a revealed share; truth-free: no ground truth, the "
                           "expected KL under the binarisation posterior on a held-out share")
    tune.add_argument("--reveal", type=float, default=None,
                      help="share revealed (revealed objective, default 0.1) or held out (truth-free, default 0.2)")
    tune.add_argument("--max-epochs", type=int, default=None,
                      help="epochs budget per trial (default: about 2000 Adam steps at batch 128)")
    tune.add_argument("--min-epochs", type=int, default=None, help="fewest epochs of a trial (default max/10)")
    tune.add_argument("--batched-start", type=int, default=0, metavar="K",
                      help="train the first K trials side by side as one batched fit (the shipped settings, then "
                           "alpha, beta and label dropout spread over the space); random and Bayesian search "
                           "(default 0: every trial alone)")
    tune.add_argument("--seed", type=int, default=0, help="split, initialisation and oracle seed (default 0)")
    tune.add_argument("--out", default="lib_tf_tuning", help="folder of the search state and best_hparams.json")
    tune.add_argument("--overwrite", action="store_true", help="start afresh instead of resuming")
    tune.add_argument("--quiet", action="store_true", help="no line per trial")
    tune.set_defaults(func=cmd_tune)
    return tune


def format_trial(tuner, trial, metric: str) -> str:
    """One line about a finished trial: its score, temperature, time, the best so far, its settings.

    Parameters
    ----------
    tuner : keras_tuner.Tuner
        The tuner that ran it.
    trial : keras_tuner.engine.trial.Trial
        The trial.
    metric : str
        The objective's metric (``revealed_kl`` or ``heldout_expected_kl``).
    """
    values = trial.hyperparameters.values
    parts = [f"{name}={values[name]:.3g}" for name in ("alpha", "beta", "learning_rate", "label_dropout")
             if name in values]
    parts += [f"{name}={values[name]}" for name in ("latent_dim", "hidden_units", "head_units", "batch_size", "epochs",
                                                   "tuner/epochs") if name in values]
    status = str(trial.status).split(".")[-1]
    # A worker of a parallel search gets no score back from the chief: use the trial's own results.
    results = dict(getattr(tuner.hypermodel, "last_metrics", None) or {})
    if trial.score is not None:
        results.update({name: trial.metrics.get_last_value(name) for name in trial.metrics.metrics})
    if metric not in results or status != "COMPLETED":
        return f"trial {trial.trial_id} {status}: " + " ".join(parts)
    try:
        done = len(completed_trials(tuner))
        best = f" | best {best_trial(tuner).score:.5f} ({done}/{tuner.oracle.max_trials} done)"
    except Exception:  # a worker's oracle client knows no trials
        best = ""
    readout = f"T={results['temperature']:g}" + (f" T_l={results['label_temperature']:g}"
                                                  if "label_temperature" in results else "")
    return (f"trial {trial.trial_id}: {metric}={results[metric]:.5f} {readout} "
            f"{results['train_seconds']:.1f}s{best} | " + " ".join(parts))


def trial_printer(objective: str):
    """A ``progress(tuner, trial)`` for :func:`lib_tf.tuning.run_search` that prints
    :func:`format_trial`'s line."""
    metric = OBJECTIVES[objective]
    return lambda tuner, trial: print(format_trial(tuner, trial, metric), flush=True)


def cmd_tune(args) -> int:
    """Run ``lib-tf tune``: parse, search, print."""
    dataset = load_dataset_argument(args)
    if not args.quiet:
        print(dataset, flush=True)
        if search_state_exists(args.out) and not args.overwrite:
            print(f"resuming the search in {args.out} (pass --overwrite to start afresh)", flush=True)
    command = "lib-tf " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:2] == ["tune"] else None
    params = run_search(dataset, kind=args.tuner, trials=args.trials, objective=args.objective, reveal=args.reveal,
                        seed=args.seed, out=args.out, overwrite=args.overwrite, max_epochs=args.max_epochs,
                        min_epochs=args.min_epochs, progress=None if args.quiet else trial_printer(args.objective),
                        command=command, fixed={"model": args.model}, batched_start=args.batched_start)
    if params is not None:
        print(f"best hyper-parameters: {json.dumps(params)}\nwrote {Path(args.out) / HPARAMS_FILE}; "
              f"use it with: lib-tf enhance --dataset {dataset.name} --hparams {Path(args.out) / HPARAMS_FILE}")
    return 0
