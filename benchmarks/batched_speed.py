"""Time per setting of batched fits (``lib_tf.model.batched_fit.fit_members``) against K, the
number of settings trained in one graph, beside the FLOP floor and the memory they take.

Each configuration (data set, sizes, K) runs in a fresh child process of its own (so each
pays TensorFlow's start-up alike and ``ru_maxrss`` is its own peak), interleaved: every repeat
runs all configurations, in reversed order on odd repeats. A child measures TF's float32
matmul rate (``benchmarks/training_overhead.py``'s ``matmul_rate``) and times
``fit_members`` from the call to its return (tracing included, TF's import not), and the steady
time per step (median over the graph calls after the first). The FLOP floor is the
multiply-adds of every dense layer of the K members, forward and backward
(``training_overhead.step_flops``), over the fit's steps, at that matmul rate.

Sizes: ``la`` is LA-LIB as shipped (``LabelEnhancer.label_aware()``: latent and heads 64,
encoder 256, label dropout 0.5); ``paper`` the paper's LIB (all 256). Member k's settings:
alpha and beta from the paper's grid {0.001, 0.01, 0.1, 1, 10} (member 0 at alpha 1, beta
10) and ``random_state`` k (``--seeds distinct``: every member its own minibatch order, noise
and initial weights) or 0 for all (``--seeds shared``).

    python benchmarks/batched_speed.py [--datasets Yeast_alpha SBU_3DFE] [--sizes la paper]
        [--members 0 1 4 16 64] [--epochs 10] [--repeats 3] [--seeds distinct [shared]]
        [--xla auto [on off]]

``--xla``: the batched step's update compiled with XLA as ``fit_members`` decides (auto),
always (on) or never (off); several: interleaved, each its own configuration.

``--members 0`` is one setting through the single-setting path (as ``LabelEnhancer.fit``); ``--epochs 0``
runs the default fit's length (about 2,000 steps). The parent and its children
run at ``nice`` 5; the script prints the device TensorFlow found (CPU, or a GPU where one
is visible) and the load average before and after.
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

GRID = (0.001, 0.01, 0.1, 1.0, 10.0)


def member_settings(size: str, members: int, seeds: str) -> list:
    """LabelEnhancer-style settings of ``members`` members at ``size`` ("la" or "paper")."""
    from lib_tf import LabelEnhancer

    base = LabelEnhancer.label_aware() if size == "la" else LabelEnhancer(model="paper")
    return [{**base.get_params(), "alpha": GRID[(k + 3) % 5], "beta": GRID[(k // 5 + 4) % 5],
             "random_state": k if seeds == "distinct" else 0} for k in range(members)]


def device_name() -> str:
    """The device TensorFlow places the fit on: the first GPU it sees, else the CPU."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        return f"GPU {details.get('device_name', gpus[0].name)}"
    return f"CPU ({os.cpu_count()} cores visible)"


def single_fit(X, L, params, callbacks):
    """(model, history) of one setting through the single-setting path, built as
    ``LabelEnhancer._train`` builds it (which takes no callbacks to time its graph calls)."""
    import numpy as np

    from lib_tf.model.factory import build_model
    from lib_tf.model.training import train

    model = build_model(L.shape[1], params)
    inputs = model.inputs_from(X.astype(np.float32), L.astype(np.float32))
    history = train(model, inputs, L, epochs=params["epochs"], batch_size=params["batch_size"],
                    learning_rate=params["learning_rate"], seed=params["random_state"], callbacks=callbacks)
    return model, history


def device_peak_mb():
    """Peak memory TensorFlow allocated on the first GPU, MB (None on a CPU)."""
    import tensorflow as tf

    if not tf.config.list_physical_devices("GPU"):
        return None
    return tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20


def child(args) -> None:
    """One configuration: prints a JSON line of its figures."""
    import resource

    import keras
    import numpy as np

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from training_overhead import matmul_rate, step_flops

    from lib_tf.data import load_ldl
    from lib_tf.model.batched_fit import fit_members
    from lib_tf.model.epochs import auto_epochs

    data = load_ldl(args.dataset)
    X, L = data.features, data.logical_labels
    settings = member_settings(args.size, max(1, args.members), args.seeds)
    batch_size = settings[0]["batch_size"]
    epochs = args.epochs or auto_epochs(len(X), batch_size)
    settings = [{**s, "epochs": epochs} for s in settings]
    rate = matmul_rate()
    ends = []
    record = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: ends.append(time.perf_counter()))
    start = time.perf_counter()
    if args.members == 0:  # the single-setting path, as LabelEnhancer(**settings[0]).fit runs it
        member, history = single_fit(X, L, settings[0], [record])
        diverged = 0
    else:
        xla_update = {"auto": "auto", "on": True, "off": False}[args.xla]
        model = fit_members(X, L, settings, callbacks=[record], xla_update=xla_update)
        member, history, diverged = model.member_model(0), model.history, int(model.diverged.numpy().sum())
    end = time.perf_counter()
    seconds = end - start
    steps_per_epoch = -(-len(X) // batch_size)
    steps_per_call = history.epochs_per_call * steps_per_epoch
    calls = np.diff(ends)  # the first call (tracing) has no predecessor: left out
    flops_per_step = step_flops(member, batch_size) * max(1, args.members)
    fit_flops = step_flops(member, len(X)) * epochs * max(1, args.members)
    print(json.dumps({
        "seconds": seconds, "steps": epochs * steps_per_epoch, "epochs": epochs,
        "step_ms": 1e3 * float(np.median(calls)) / steps_per_call if len(calls) else None,
        "mean_step_ms": 1e3 * float(np.mean(calls)) / steps_per_call if len(calls) else None,
        "first_call_s": ends[0] - start, "after_last_call_s": end - ends[-1],
        "floor_step_ms": 1e3 * flops_per_step / rate, "floor_fit_s": fit_flops / rate, "gflops": rate / 1e9,
        "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "device": device_name(),
        "device_peak_mb": device_peak_mb(),
        "diverged": diverged,
    }))


def run_child(config, args) -> dict:
    dataset, size, members, seeds, xla = config
    command = [sys.executable, __file__, "--child", "--dataset", dataset, "--size", size, "--members", str(members),
               "--epochs", str(args.epochs), "--seeds", seeds, "--xla", xla]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def steady_seconds(run: dict) -> float:
    """A fit's seconds without the stalls of a shared machine: up to its first graph call's
    end, then every step at the median step time."""
    return run["first_call_s"] + run["steps"] * run["step_ms"] / 1e3


def report(configs, results, args) -> None:
    print(f"\nmedians of {args.repeats} interleaved runs; K 'one': the single-setting path (LabelEnhancer's); "
          "x K=1 and throughput against it (else against batched K=1); per setting = fit seconds / K; "
          "floor = FLOPs of the K members' dense layers / matmul rate measured in the same child; steady = "
          "seconds to the first graph call's end + steps x median ms/step (what the fit takes without stalls)")
    print(f"{'data set':<12} {'sizes':<5} {'seeds':<8} {'xla':<4} {'K':>3} {'steps':>5} {'fit s':>7} {'per setting':>11} {'x K=1':>6} "
          f"{'through.':>8} {'steady':>7} {'x K=1':>6} {'ms/step':>8} {'floor ms':>8} {'step/fl':>7} {'fit/fl':>6} {'GFLOP/s':>7} {'RSS MB':>7} {'div':>3}")
    for dataset, size, members, seeds, xla in configs:
        runs = results[(dataset, size, members, seeds, xla)]
        med = {key: statistics.median(r[key] for r in runs) for key in
               ("seconds", "step_ms", "floor_step_ms", "floor_fit_s", "gflops", "maxrss_mb") if runs[0][key] is not None}
        single = [runs for (d, s, k, seeds_, _), runs in results.items() if (d, s, k, seeds_) == (dataset, size, 0, seeds)]
        reference = single[0] if single else results.get((dataset, size, 1, seeds, xla))
        base = statistics.median(r["seconds"] for r in reference) if reference else float("nan")
        base_steady = statistics.median(steady_seconds(r) for r in reference) if reference else float("nan")
        steady = statistics.median(steady_seconds(r) for r in runs)
        step = med.get("step_ms", float("nan"))
        k = max(1, members)
        print(f"{dataset:<12} {size:<5} {seeds:<8} {xla if members else '':<4} {members or 'one':>3} {runs[0]['steps']:>5} {med['seconds']:7.1f} "
              f"{med['seconds'] / k:11.2f} {med['seconds'] / base:6.2f} {base * k / med['seconds']:8.1f} "
              f"{steady:7.1f} {steady / base_steady:6.2f} "
              f"{step:8.2f} {med['floor_step_ms']:8.2f} {step / med['floor_step_ms']:7.2f} "
              f"{med['seconds'] / med['floor_fit_s']:6.2f} {med['gflops']:7.0f} {med['maxrss_mb']:7.0f} "
              f"{max(r['diverged'] for r in runs):>3}"
              + (f" GPU peak {statistics.median(r['device_peak_mb'] for r in runs):.0f} MB"
                 if runs[0].get("device_peak_mb") is not None else ""))


def report_from(args) -> None:
    """The tables of the runs an earlier invocation printed (``repeat i: (config) {figures}``)."""
    results = {}
    for line in Path(args.report_from).read_text().splitlines():
        if line.startswith("repeat ") and ": (" in line:
            config, figures = line.split(": ", 1)[1].split(") ", 1)
            config = ast.literal_eval(config + ")")
            config += ("distinct", "off")[len(config) - 3:]  # runs from before --seeds and --xla
            results.setdefault(config, []).append(ast.literal_eval(figures))
    args.repeats = max(len(runs) for runs in results.values())
    report(list(results), results, args)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["Yeast_alpha", "SBU_3DFE"])
    parser.add_argument("--sizes", nargs="+", choices=["la", "paper"], default=["la", "paper"])
    parser.add_argument("--members", nargs="+", type=int, default=[0, 1, 4, 16, 64],
                        help="K per configuration; 0: one setting through the single-setting path")
    parser.add_argument("--epochs", type=int, default=10, help="epochs per fit; 0: the default fit's (auto)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seeds", nargs="+", choices=["distinct", "shared"], default=["distinct"],
                        help="members' random_state: k each (distinct) or 0 for all (shared); both: interleaved")
    parser.add_argument("--xla", nargs="+", choices=["auto", "on", "off"], default=["auto"],
                        help="the batched update under XLA: as fit_members decides, always, never; several: interleaved")
    parser.add_argument("--report-from", help="print the tables of an earlier run's output (its 'repeat' lines)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--dataset", help=argparse.SUPPRESS)
    parser.add_argument("--size", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        args.members, args.seeds, args.xla = args.members[0], args.seeds[0], args.xla[0]
        return child(args)
    if args.report_from:
        return report_from(args)
    os.environ.setdefault("LIB_TF_DATA", str(ROOT.parent / "shared" / "ldl"))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    os.nice(max(0, 5 - os.nice(0)))  # inherited by every child: the machine's agreed nice level
    print(f"load average before: {os.getloadavg()}", flush=True)
    configs = [(d, s, k, seeds, xla) for d in args.datasets for s in args.sizes for seeds in args.seeds
               for xla in args.xla for k in args.members if k or xla == args.xla[0]]  # one single-path run
    results = {config: [] for config in configs}
    for repeat in range(args.repeats):
        for config in (configs if repeat % 2 == 0 else configs[::-1]):
            results[config].append(run_child(config, args))
            print(f"repeat {repeat}: {config} {results[config][-1]}", flush=True)
    print(f"device: {results[configs[0]][0]['device']}; load average after: {os.getloadavg()}")
    report(configs, results, args)
    print("\ncommand: python " + " ".join([os.path.relpath(__file__, ROOT), *(argv or sys.argv[1:])]))


if __name__ == "__main__":
    main()
