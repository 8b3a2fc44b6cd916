"""Where a LIB training step's time goes, against the arithmetic floor of its layer sizes.

For each setting (batch size, dtype) it times, interleaved and repeated (medians):

- ``forward``: the loss terms of one batch (``LIB.loss_terms``) in one ``tf.function``;
- ``gradients``: forward and backward (``tf.GradientTape``), no update;
- ``keras_adam``: forward, backward and Keras' own Adam update (``LIB.train_step``), in a
  loop of ``--steps`` steps inside one ``tf.function`` (no Keras loop, no input pipeline);
- ``step``: the same with the training path's optimiser (``FusedAdam``, one op per variable);
- ``fit``: the package's training path (``lib_tf.model.training.train``: Keras ``fit``, the
  reshuffled ``tf.data`` stream, several epochs per graph call);

and prints each per step, the FLOP floor of the step (multiply-adds of every dense layer,
forward and backward, at a matmul rate measured in the same run) and the ratios. The data
are random with Yeast_alpha's shape (2465 x 24, 18 labels) unless ``--dataset`` names one.

    python benchmarks/training_overhead.py [--batch-sizes 128 512] [--dtypes float32 mixed_bfloat16]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from lib_tf.model import LIB  # noqa: E402
from lib_tf.model.optimizer import FusedAdam  # noqa: E402
from lib_tf.model.training import train  # noqa: E402

FIT_EPOCHS = 10


def dense_shapes(model):
    """(inputs, outputs) of every dense layer of a built LIB."""
    return [(int(layer.kernel.shape[0]), int(layer.kernel.shape[1])) for layer in model._dense_layers()]


def step_flops(model, batch_size: int) -> float:
    """FLOPs of one training step: 2 per multiply-add, forward plus a backward of twice that
    (gradients of the inputs and of the weights); the first layer needs no input gradient but
    is counted in full (a bound that errs low on the floor)."""
    return 3 * 2 * batch_size * sum(i * o for i, o in dense_shapes(model))


def matmul_rate(size: int = 2048, repeats: int = 5) -> float:
    """FLOP/s of a size x size float32 matmul, the median of ``repeats``."""
    a, b = tf.random.normal([size, size]), tf.random.normal([size, size])
    matmul = tf.function(lambda a, b: tf.reduce_sum(tf.matmul(a, b)))
    matmul(a, b).numpy()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(5):
            matmul(a, b).numpy()
        times.append((time.perf_counter() - start) / 5)
    return 2 * size ** 3 / statistics.median(times)


def make_model(n_labels, X, dtype, optimizer=None):
    """A LIB at the paper's sizes, compiled with ``optimizer``; None leaves compiling to the
    training path (which sets its own steps per graph call)."""
    keras.utils.set_random_seed(0)
    model = LIB(n_labels, alpha=1.0, beta=10.0, network_dtype=dtype, seed=0)
    model.adapt(X)
    if optimizer is not None:
        model.compile(optimizer)
        model.optimizer.build(model.trainable_variables)
    return model


def timers(model, keras_adam_model, fit_model, X, L, batch_size, steps):
    """name -> a function that runs ``steps`` steps of that kind and returns the seconds."""
    x, l = tf.constant(X[:batch_size]), tf.constant(L[:batch_size])

    @tf.function
    def forward():
        total = tf.constant(0.0)
        for _ in tf.range(steps):
            total += model.loss_terms(x, l)["loss"]
        return total

    @tf.function
    def gradients():
        total = tf.constant(0.0)
        for _ in tf.range(steps):
            with tf.GradientTape() as tape:
                loss = model.loss_terms(x, l)["loss"]
            total += tf.add_n([tf.reduce_sum(g) for g in tape.gradient(loss, model.trainable_weights)])
        return total

    def steps_of(compiled_model):
        @tf.function
        def step():
            for _ in tf.range(steps):
                compiled_model.train_step((x, l))
            return compiled_model.trainable_weights[0][0, 0]
        return step

    def fit():  # FIT_EPOCHS epochs of `steps` steps, so the fit's own start-up is spread as in use
        n = steps * batch_size
        train(fit_model, X[:n], L[:n], epochs=FIT_EPOCHS, batch_size=batch_size, seed=0)

    def timed(function):
        def run():
            start = time.perf_counter()
            result = function()
            if result is None:  # the fit: per step of its FIT_EPOCHS epochs
                return (time.perf_counter() - start) / FIT_EPOCHS
            result.numpy()
            return time.perf_counter() - start
        return run

    return {name: timed(function) for name, function in
            (("forward", forward), ("gradients", gradients), ("keras_adam", steps_of(keras_adam_model)),
             ("step", steps_of(model)), ("fit", fit))}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[128, 512])
    parser.add_argument("--dtypes", nargs="+", default=["float32", "mixed_bfloat16"])
    parser.add_argument("--steps", type=int, default=40, help="steps per timing (default 40)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--dataset", default=None, help="an LDL data set (default: random data of Yeast_alpha's shape)")
    args = parser.parse_args(argv)
    if args.dataset:
        from lib_tf.data import load_ldl

        data = load_ldl(args.dataset)
        X, L = data.features.astype(np.float32), data.logical_labels.astype(np.float32)
    else:
        rng = np.random.default_rng(0)
        X = rng.normal(size=(2465, 24)).astype(np.float32)
        L = (rng.random((2465, 18)) < 0.2).astype(np.float32)
    rows_needed = args.steps * max(args.batch_sizes)
    if len(X) < rows_needed:  # the fit timing runs one epoch of steps x batch rows
        X, L = np.resize(X, (rows_needed, X.shape[1])), np.resize(L, (rows_needed, L.shape[1]))
    rate = matmul_rate()
    print(f"threads: intra-op {tf.config.threading.get_intra_op_parallelism_threads()}, inter-op "
          f"{tf.config.threading.get_inter_op_parallelism_threads()} (0: TF's default); 2048^3 float32 matmul "
          f"{rate / 1e9:.0f} GFLOP/s")
    settings = [(b, d) for b in args.batch_sizes for d in args.dtypes]
    runs = {}
    for setting in settings:
        model = make_model(L.shape[1], X, setting[1], FusedAdam(1e-3))
        keras_adam_model = make_model(L.shape[1], X, setting[1], keras.optimizers.Adam(1e-3))
        fit_model = make_model(L.shape[1], X, setting[1])
        runs[setting] = (model, timers(model, keras_adam_model, fit_model, X, L, setting[0], args.steps), {})
        for run in runs[setting][1].values():
            run()  # trace and warm up
    for _ in range(args.repeats):
        for setting in settings:
            _, functions, times = runs[setting]
            for name, run in functions.items():
                times.setdefault(name, []).append(run() / args.steps)
    print(f"\nms per step (median of {args.repeats}, {args.steps} steps each); floor = step FLOPs / matmul rate")
    print(f"{'batch':>5} {'dtype':>15} {'floor':>7} {'forward':>8} {'gradients':>9} {'keras_adam':>10} {'step':>7} {'fit':>7} "
          f"{'fit/floor':>9} {'per 100 epochs of 2465':>23}")
    for setting, (model, _, times) in runs.items():
        floor = step_flops(model, setting[0]) / rate
        medians = {name: statistics.median(values) for name, values in times.items()}
        epoch_steps = -(-2465 // setting[0])
        print(f"{setting[0]:>5} {setting[1]:>15} {floor * 1e3:7.2f} {medians['forward'] * 1e3:8.2f} "
              f"{medians['gradients'] * 1e3:9.2f} {medians['keras_adam'] * 1e3:10.2f} {medians['step'] * 1e3:7.2f} {medians['fit'] * 1e3:7.2f} "
              f"{medians['fit'] / floor:9.1f} {medians['fit'] * epoch_steps * 100:21.1f} s")
    print("\ncommand: python " + " ".join(sys.argv))


if __name__ == "__main__":
    main()
