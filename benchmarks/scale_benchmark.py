"""Scale benchmark: LIB or LA-LIB trained and applied on a generated LE problem streamed from disk.

For each size n (default 10^4, 10^5, 10^6; d = 128 features, c = 20 labels) a fresh
process (so that its peak memory is its own):

1. generates the problem in chunks and writes it as shards (TFRecord by default), never
   holding it whole: x ~ N(0, I_d); ground truth d = softmax(W2 tanh(W1 x)) with a fixed
   random 2-layer map (W1: d x 64 with N(0, 1/d) entries, W2: 64 x c with N(0, 9/64)):
   largest degree 0.40 on average, 2.2 relevant labels per instance after the field's
   binarisation l = binarize(d), l / sum(l) at Chebyshev 0.27; the ground truth goes to a
   float32 memory map beside the shards, for scoring;
2. the standardisation statistics in one streaming pass (``lib_tf.distribute.adapt_streaming``);
3. trains the model (``--model paper``: LIB, alpha = beta = 0.01 unless given; ``--model
   label-aware``: LA-LIB with the settings of ``LabelEnhancer.label_aware()``, reading each
   batch's logical labels as input too) with Keras' ``fit`` on the shard stream (shuffle
   buffer 10,000) for ``--epochs`` epochs, at most ``--max-steps`` optimiser steps in all (the
   10^6 run is bounded this way; the JSON says how many instances were actually processed);
4. paper: picks the read-out temperature T on a revealed 1% of the ground truth (KL, as
   ``lib-tf enhance --reveal``); label-aware: no truth at all, the model's read-out at the
   settings' temperatures (T = 1, no label term: what ``label_aware()`` leaves them at when
   its truth-free choice, an in-memory fit, cannot run), as ``lib-tf enhance --input
   --model label-aware`` reads out; then predicts every shard into ``.distributions.npy``
   shards (``predict_streaming``; LA-LIB reads each shard's labels);
5. scores the predictions against the ground truth in chunks (mean Chebyshev and KL, with
   ``l / sum(l)`` for reference);

and reports seconds and instances per second for each phase and the peak resident memory
of the process (``ru_maxrss``). Results go to ``--out`` (JSON) and a table on stdout.

    python benchmarks/scale_benchmark.py                      # 10^4, 10^5, 10^6
    python benchmarks/scale_benchmark.py --sizes 10000 --keep # one size, keep the shards
    python benchmarks/scale_benchmark.py --model label-aware  # LA-LIB -> results/scale_label_aware.json

Shards live in ``--workdir`` (default a temporary folder, removed afterwards unless ``--keep``;
10^6 instances take 0.6 GB as TFRecord).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HIDDEN = 64
OUTPUT_SCALE = 3.0
CHUNK = 10_000


def generated_chunks(n: int, d: int, c: int, seed: int = 0, chunk: int = CHUNK):
    """``(x, l, d_true)`` chunks of the generated problem (reproducible: one RNG per chunk)."""
    from lib_tf.data import binarize

    maps = np.random.default_rng(seed)
    W1 = maps.normal(size=(d, HIDDEN)) / np.sqrt(d)
    W2 = maps.normal(size=(HIDDEN, c)) * OUTPUT_SCALE / np.sqrt(HIDDEN)
    for index, start in enumerate(range(0, n, chunk)):
        rng = np.random.default_rng([seed, index])
        x = rng.normal(size=(min(chunk, n - start), d))
        logits = np.tanh(x @ W1) @ W2
        logits -= logits.max(axis=1, keepdims=True)
        D = np.exp(logits)
        D /= D.sum(axis=1, keepdims=True)
        yield x.astype(np.float32), binarize(D).astype(np.float32), D.astype(np.float32)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def run_one(args) -> dict:
    """One size, in this process."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from lib_tf.data.streaming.shards import find_shards
    from lib_tf.data.streaming.writers import WRITERS

    n, d, c = args.n, args.d, args.c
    work = Path(args.workdir) / f"n{n}_d{d}_c{c}_{args.format}"
    result = {"n": n, "d": d, "c": c, "format": args.format, "batch_size": args.batch_size}
    truth_path = work / "truth.npy"
    if not (work / "DONE").exists():
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        start = time.perf_counter()
        truth = np.lib.format.open_memmap(truth_path, mode="w+", dtype=np.float32, shape=(n, c))
        writer = WRITERS[args.format](work / "shards", rows_per_shard=args.rows_per_shard)
        row = 0
        for x, l, D in generated_chunks(n, d, c):
            writer.write(x, l)
            truth[row:row + len(x)] = D
            row += len(x)
        writer.close()
        truth.flush()
        del truth
        result["generate_seconds"] = round(time.perf_counter() - start, 2)
        (work / "DONE").write_text(json.dumps({"generate_seconds": result["generate_seconds"]}))
    else:  # shards kept from an earlier run (--workdir): its generation time
        result["generate_seconds"] = json.loads((work / "DONE").read_text())["generate_seconds"]
        result["generated_by_an_earlier_run"] = True
    shards = find_shards(str(work / "shards" / "*"))
    result["shards"] = len(shards.paths)
    result["disk_mb"] = round(sum(p.stat().st_size for p in (work / "shards").iterdir()) / 2 ** 20, 1)
    result["rss_after_generation_mb"] = round(peak_rss_mb(), 1)

    from lib_tf import distribute
    from lib_tf.model.factory import build_model

    settings = model_settings(args)
    result["settings"] = settings
    model = build_model(c, settings)
    start = time.perf_counter()
    counted = distribute.adapt_streaming(model, shards)
    seconds = time.perf_counter() - start
    assert counted == n, (counted, n)
    result.update(adapt_seconds=round(seconds, 2), adapt_per_second=round(n / seconds))

    steps_per_epoch = math.ceil(n / args.batch_size)
    steps = min(args.epochs * steps_per_epoch, args.max_steps)
    # Keras epochs of at most steps_per_epoch steps; the bounded run is `steps` steps in all.
    keras_epochs, per_epoch = (args.epochs, steps_per_epoch) if steps == args.epochs * steps_per_epoch else \
        (max(1, math.ceil(steps / steps_per_epoch)), None)
    if per_epoch is None:
        per_epoch = math.ceil(steps / keras_epochs)
        steps = per_epoch * keras_epochs
    timer = _step_timer()
    from lib_tf.data.streaming.readers import shard_dataset

    train = distribute.model_batches(model, shard_dataset(shards, args.batch_size, shuffle_buffer=args.shuffle_buffer,
                                                          seed=0).repeat())
    start = time.perf_counter()
    history = distribute.fit_lib(model, train, epochs=keras_epochs, steps_per_epoch=per_epoch, learning_rate=1e-3,
                                 callbacks=[timer], verbose=0)
    seconds = time.perf_counter() - start
    processed = steps * args.batch_size
    result.update(train_steps=steps, train_instances=processed, train_epochs_equivalent=round(processed / n, 3),
                  train_seconds=round(seconds, 2), train_per_second=round(processed / seconds),
                  train_per_second_after_first_call=timer.rate(args.batch_size),
                  final_loss=round(float(history.history["loss"][-1]), 4))
    result["rss_after_training_mb"] = round(peak_rss_mb(), 1)

    if model.reads_labels:  # no truth: the settings' read-out
        result.update(readout_temperature=model.temperature, readout_label_temperature=model.label_temperature,
                      temperature_revealed=0)
    else:
        result.update(pick_temperature(model, shards, truth_path, n))

    start = time.perf_counter()
    written = distribute.predict_streaming(model, shards, work / "predictions", batch_size=8192)
    seconds = time.perf_counter() - start
    result.update(predict_seconds=round(seconds, 2), predict_per_second=round(n / seconds),
                  rss_after_prediction_mb=round(peak_rss_mb(), 1))
    result.update(score(written, truth_path, shards, model.temperature if model.reads_labels else None))
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    if not args.keep:
        shutil.rmtree(work / "predictions", ignore_errors=True)
    return result


def model_settings(args) -> dict:
    """LabelEnhancer-style settings of the model trained (``--alpha``/``--beta`` replace the
    defaults: 0.01 each for the paper's LIB, ``label_aware()``'s for LA-LIB)."""
    if args.model == "paper":
        settings = {"model": "paper", "alpha": 0.01, "beta": 0.01}
    else:
        from lib_tf.enhancer import LABEL_AWARE_DEFAULTS

        settings = {**LABEL_AWARE_DEFAULTS, "readout": "given", "temperature": 1.0, "label_temperature": None}
    given = {name: getattr(args, name) for name in ("alpha", "beta") if getattr(args, name) is not None}
    return {**settings, **given, "random_state": 0}


def pick_temperature(model, shards, truth_path, n) -> dict:
    """Set the read-out temperature T picked by KL on a revealed 1% (the first instances, at
    least 100, at most 10,000), as ``lib-tf enhance --reveal`` does; no retraining."""
    from lib_tf.data.streaming.readers import shard_dataset
    from lib_tf.readout.selection import select_readout

    reveal = int(min(10_000, max(100, n // 100)))
    x = next(iter(shard_dataset(shards, reveal, labels=False, files=[shards.paths[0]]))).numpy()
    truth = np.asarray(np.load(truth_path, mmap_mode="r")[: len(x)], np.float64)
    temperature = select_readout(model.predict_logits(x), truth / truth.sum(1, keepdims=True))
    model.set_temperature(temperature)
    return {"readout_temperature": temperature, "temperature_revealed": len(x)}


def _step_timer():
    """A Keras callback timing the graph calls after the first (which includes tracing)."""
    import keras

    class StepTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.marks = []

        def on_train_batch_end(self, batch, logs=None):  # once per graph call (steps_per_execution steps)
            self.marks.append(time.perf_counter())

        def rate(self, batch_size):
            if len(self.marks) < 3:
                return None
            steps = (len(self.marks) - 1) * int(self.model.steps_per_execution)
            return round(steps * batch_size / (self.marks[-1] - self.marks[0]))

    return StepTimer()


def score(prediction_paths, truth_path, shards, rule_temperature=None, chunk: int = 100_000) -> dict:
    """Mean Chebyshev and KL(D || D_hat) of the predictions, of ``l / sum(l)`` (``naive_``) and,
    given ``rule_temperature`` T, of the feature-free ``rule(softmax(l / T))`` (``rule_``: LA-LIB's
    read-out with logits that learned nothing beyond the labels), in chunks (the KL's D_hat
    clipped at 1e-12, as :mod:`lib_tf.metrics` does)."""
    from lib_tf.readout.forms import rule_consistent, softmax_with_temperature

    truth = np.load(truth_path, mmap_mode="r")
    predicted = [np.load(p, mmap_mode="r") for p in prediction_paths]
    prefixes = ("", "naive_") if rule_temperature is None else ("", "naive_", "rule_")
    totals = {f"{prefix}{name}": 0.0 for prefix in prefixes for name in ("Chebyshev", "Kullback-Leibler")}
    row = 0
    labels = _label_stream(shards)
    for block in predicted:
        for start in range(0, len(block), chunk):
            P = np.asarray(block[start:start + chunk], np.float64)
            D = np.asarray(truth[row:row + len(P)], np.float64)
            L = next(labels)[: len(P)]
            row += len(P)
            estimates = {"": P, "naive_": L / L.sum(axis=1, keepdims=True)}
            if rule_temperature is not None:
                estimates["rule_"] = rule_consistent(softmax_with_temperature(L, rule_temperature), L)
            for prefix, estimate in estimates.items():
                totals[f"{prefix}Chebyshev"] += np.abs(estimate - D).max(axis=1).sum()
                totals[f"{prefix}Kullback-Leibler"] += (
                    D * (np.log(np.maximum(D, 1e-12)) - np.log(np.maximum(estimate, 1e-12)))).sum()
    assert row == len(truth), (row, len(truth))
    return {f"mean_{k}": round(v / row, 4) for k, v in totals.items()}


def _label_stream(shards, chunk: int = 100_000):
    """Logical labels in file order, in the chunking ``score`` uses (per prediction shard)."""
    from lib_tf.data.streaming.readers import shard_dataset

    for path in shards.paths:
        for _, l in shard_dataset(shards, chunk, files=[path]):
            yield np.asarray(l, np.float64)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--d", type=int, default=128)
    parser.add_argument("--c", type=int, default=20)
    parser.add_argument("--format", choices=("tfrecord", "npy"), default="tfrecord")
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--epochs", type=int, default=1, help="epochs per size (bounded by --max-steps)")
    parser.add_argument("--max-steps", type=int, default=1000, help="at most this many optimiser steps per size")
    parser.add_argument("--shuffle-buffer", type=int, default=10_000)
    parser.add_argument("--rows-per-shard", type=int, default=100_000)
    parser.add_argument("--model", choices=("paper", "label-aware"), default="paper")
    parser.add_argument("--alpha", type=float, default=None, help="weight of the gap term (default: paper 0.01, "
                                                                   "label-aware label_aware()'s)")
    parser.add_argument("--beta", type=float, default=None, help="weight of the KL term (default: paper 0.01, "
                                                                  "label-aware label_aware()'s)")
    parser.add_argument("--workdir", default=None, help="where shards go (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the shards and predictions")
    parser.add_argument("--timeout", type=int, default=900, help="seconds allowed per size")
    parser.add_argument("--out", default=None, help="default benchmarks/results/scale.json (paper) or "
                                                    "scale_label_aware.json")
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)  # internal: one size in-process
    args = parser.parse_args(argv)

    if args.one is not None:
        args.n = args.one
        print("RESULT " + json.dumps(run_one(args)), flush=True)
        return 0

    temporary = args.workdir is None
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="lib_tf_scale_"))
    results = []
    try:
        for n in args.sizes:
            command = [sys.executable, __file__, "--one", str(n), "--workdir", str(workdir)] + _forward(args)
            print(f"n = {n:,}: {' '.join(command[1:])}", flush=True)
            process = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout)
            lines = [line for line in process.stdout.splitlines() if line.startswith("RESULT ")]
            if process.returncode != 0 or not lines:
                print(process.stderr[-4000:], file=sys.stderr)
                raise SystemExit(f"size {n} failed with code {process.returncode}")
            results.append(json.loads(lines[-1][len("RESULT "):]))
            print(json.dumps(results[-1]), flush=True)
    finally:
        if temporary and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    out = Path(args.out or ROOT / "benchmarks" / "results" / (
        "scale.json" if args.model == "paper" else "scale_label_aware.json"))
    out.parent.mkdir(parents=True, exist_ok=True)
    settings = {k: v for k, v in vars(args).items() if k not in ("one", "out", "workdir", "keep")}
    out.write_text(json.dumps({"command": "python benchmarks/scale_benchmark.py " + " ".join(sys.argv[1:]),
                               "settings": settings, "machine": _machine(), "results": results}, indent=2))
    print(table(results))
    print(f"wrote {out}")
    return 0


def _forward(args):
    flags = []
    for name in ("model", "d", "c", "format", "batch_size", "epochs", "max_steps", "shuffle_buffer", "rows_per_shard",
                 "alpha", "beta"):
        if getattr(args, name) is not None:
            flags += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
    return flags + (["--keep"] if args.keep else [])


def _machine() -> dict:
    import platform

    import tensorflow as tf

    return {"cpus": os.cpu_count(), "python": platform.python_version(), "tensorflow": tf.__version__,
            "processor": platform.processor() or platform.machine()}


def table(results) -> str:
    columns = [("n", "n", "{:,}"), ("train inst/s", "train_per_second", "{:,}"),
               ("steps", "train_steps", "{:,}"), ("train s", "train_seconds", "{:.1f}"),
               ("adapt inst/s", "adapt_per_second", "{:,}"), ("predict inst/s", "predict_per_second", "{:,}"),
               ("peak RSS MB", "peak_rss_mb", "{:.0f}"), ("Chebyshev", "mean_Chebyshev", "{:.4f}"),
               ("KL", "mean_Kullback-Leibler", "{:.4f}"), ("l/sum(l) Cheb.", "mean_naive_Chebyshev", "{:.4f}"),
               ("T", "readout_temperature", "{:g}")]
    lines = [" | ".join(title for title, _, _ in columns), " | ".join("---" for _ in columns)]
    for row in results:
        lines.append(" | ".join(fmt.format(row[key]) if row.get(key) is not None else "-" for _, key, fmt in columns))
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
