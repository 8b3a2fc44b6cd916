"""Kill ``lib-tf`` commands at random moments, resume them, and check that nothing is lost.

For each command (``enhance``, ``benchmark``, ``tune``, ``export`` and ``backup``: ``lib-tf
enhance --strategy default --backup-dir``, the checkpointed training of ``lib_tf.distribute``)
on a tiny problem, the script

1. runs it once uninterrupted: the reference result and its wall time T;
2. runs trials: each starts the command 1-3 times in the same output folder and SIGKILLs it
   at a random moment (seeded), then runs it once more to the end (the resume). Half of the
   kills fall uniformly in [0, T]; the other half wait until the command starts writing its
   output (a file appears or grows) and strike within the next 0.3 s, where partial results
   would be made. After every kill it checks that whatever looks finished is whole and equal
   to the reference; after the resume, that the result equals the reference, that nothing is
   missing or duplicated, and that no staging folder or partial file is left behind.

Equal means: ``enhance``, ``benchmark``, ``tune`` and ``export`` recompute what was lost from
the same seed and must give identical bytes / values (export: every file byte-identical
except TensorFlow's ``fingerprint.pb``, which holds a random uuid per save; its hashes must
agree). A resumed ``--backup-dir`` training continues from its last epoch checkpoint; its
distributions must agree with the uninterrupted run's within ``--backup-tolerance`` (the
largest difference is printed).

    python benchmarks/fault_injection.py [--kills 20] [--seed 0] [--commands enhance export ...]

prints, per command: kills injected, trials resumed, results lost, duplicated, wrong, leftovers
(the goal: 0, 0, 0, 0), and the command lines used. ``run_trials`` is also used by
``tests/test_fault_injection.py`` with a handful of kills.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("LIB_TF_DATA", ROOT.parent / "shared" / "ldl"))
SOURCE_DATE_EPOCH = "1700000000"
#: Largest allowed |difference| of a resumed --backup-dir training's distributions from the
#: uninterrupted run's (see the module docstring; the measured maximum is printed).
BACKUP_TOLERANCE = 1e-5


@dataclass
class Scenario:
    """One command: how to run it in a folder and what its finished result is."""

    name: str
    args: list  # lib-tf arguments; "{out}" and "{work}" are replaced
    env: dict = field(default_factory=dict)

    def argv(self, work: Path, out: Path) -> list:
        return [sys.executable, "-m", "lib_tf"] + [a.format(out=out, work=work) for a in self.args]


def scenarios() -> dict:
    return {
        "enhance": Scenario("enhance", ["enhance", "--dataset", "SJAFFE", "--hparams", "{work}/tiny.json", "--seed", "0",
                                        "--quiet", "--out", "{out}"]),
        "benchmark": Scenario("benchmark", ["benchmark", "--quick", "--datasets", "SJAFFE", "--seeds", "0", "--methods",
                                            "l/sum(l)", "softmax(l/T)", "FCM", "KM", "LIB", "--no-figures",
                                            "--out", "{out}"]),
        "tune": Scenario("tune", ["tune", "--dataset", "SJAFFE", "--tuner", "random", "--trials", "3", "--max-epochs",
                                  "2", "--min-epochs", "1", "--quiet", "--out", "{out}"]),
        "export": Scenario("export", ["export", "--dataset", "Artificial", "--hparams", "{work}/tiny.json", "--out",
                                      "{out}/model", "--version", "1", "--quiet"],
                           env={"SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH}),
        "backup": Scenario("backup", ["enhance", "--dataset", "SJAFFE", "--strategy", "default", "--backup-dir",
                                      "{out}/backup", "--epochs", "40", "--seed", "0", "--quiet", "--out", "{out}"]),
    }


# -- what each command leaves -------------------------------------------------------------
def _json(path: Path):
    return json.loads(path.read_text())


def _json_lines(path: Path) -> list:
    """Records of a JSON-lines file; an unterminated last line (cut off by a kill) is no record.
    Any other line that does not parse raises."""
    if not path.exists():
        return []
    text = path.read_text()
    lines = text.splitlines()
    if lines and not text.endswith("\n"):
        lines = lines[:-1]
    return [json.loads(line) for line in lines if line.strip()]


def _partials(folder: Path) -> list:
    return [str(p.relative_to(folder)) for p in folder.rglob("*.partial")] + \
           [str(p.relative_to(folder)) for p in folder.rglob(".staging-*")]


def _tree(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _varint(data: bytes, at: int):
    value, shift = 0, 0
    while True:
        byte = data[at]
        value |= (byte & 0x7F) << shift
        at, shift = at + 1, shift + 7
        if byte < 0x80:
            return value, at


def _fingerprint_hashes(path: Path) -> bytes:
    """fingerprint.pb without its random ``uuid`` (field 7 of the FingerprintDef protobuf),
    read from the wire format so that checking needs no TensorFlow in this process."""
    data, at, kept = path.read_bytes(), 0, []
    while at < len(data):
        start = at
        key, at = _varint(data, at)
        if key & 7 == 0:  # varint: the hashes
            _, at = _varint(data, at)
        elif key & 7 == 2:  # length-delimited: version, uuid
            length, at = _varint(data, at)
            at += length
        else:
            raise ValueError(f"unexpected wire type {key & 7} in {path}")
        if key >> 3 != 7:
            kept.append(data[start:at])
    return b"".join(kept)


def read_result(name: str, out: Path, finished_only: bool = True):
    """The command's finished result in ``out`` as comparable data, or None if it has none.
    Raises (ValueError / OSError) if something that looks finished is unreadable or partial."""
    if name in ("enhance", "backup"):
        marker = out / "distributions.npy"  # lib-tf enhance's marker for results in memory, with or without a strategy
        if not marker.exists():
            return None
        settings = _json(out / "settings.json")
        distributions = np.load(out / "distributions.npy", allow_pickle=False)
        if name == "enhance":
            csv = np.loadtxt(out / "distributions.csv", delimiter=",", ndmin=2)
            if csv.shape != distributions.shape or settings["n"] != len(distributions):
                raise ValueError(f"distributions.csv {csv.shape} / settings n={settings['n']} do not match "
                                 f"distributions.npy {distributions.shape}")
        if name == "backup" and (out / "backup").exists():
            raise ValueError("the backup folder is still there after training finished")
        return {"distributions": distributions}
    if name == "export":
        base = out / "model"
        versions = sorted(p.name for p in base.iterdir() if not p.name.startswith(".")) if base.is_dir() else []
        if not versions:
            return None
        if versions != ["1"]:
            raise ValueError(f"versions {versions}: expected only 1")
        tree = _tree(base / "1")
        fingerprint = tree.pop("fingerprint.pb")
        tree["fingerprint.pb (without uuid)"] = _fingerprint_hashes(base / "1" / "fingerprint.pb") if fingerprint else b""
        json.loads(tree["assets.extra/model_card.json"])
        return {"files": tree}
    if name == "benchmark":
        store = out / "runs.jsonl"
        if not store.exists():
            return None
        runs = _json_lines(store)
        keys = [run["key"] for run in runs]
        if len(set(keys)) != len(keys):
            raise ValueError(f"duplicated runs: {len(keys) - len(set(keys))}")
        # a run's measures and settings; its wall time and finishing time differ on every run
        result = {"runs": {run["key"]: {k: v for k, v in run.items() if k not in ("seconds", "finished")}
                           for run in runs}}
        if (out / "REPORT.md").exists():
            result["report"] = (out / "REPORT.md").read_text().count("\n## ")
        _json_lines(out / "invocations.jsonl")
        return result
    if name == "tune":
        trials = []
        for path in sorted((out / "lib").glob("trial_*/trial.json")):
            trial = _json(path)
            if trial.get("status") == "COMPLETED":
                trials.append(json.dumps(trial["hyperparameters"]["values"], sort_keys=True))
        if len(set(trials)) != len(trials):
            raise ValueError(f"a trial ran twice: {len(trials) - len(set(trials))} duplicated")
        result = {"completed": sorted(trials)}
        if (out / "best_hparams.json").exists():
            result["best"] = _json(out / "best_hparams.json")
            _json(out / "search_summary.json")
        elif finished_only:
            return None
        return result
    raise ValueError(name)


def compare(name: str, got, reference, partial: bool):
    """Problems of ``got`` against the reference: (lost, duplicated, wrong, deviation)."""
    lost, wrong, deviation = 0, 0, 0.0
    if name in ("enhance", "backup"):
        deviation = float(np.abs(got["distributions"] - reference["distributions"]).max())
        wrong = int(deviation > (BACKUP_TOLERANCE if name == "backup" else 0.0))
    elif name == "export":
        differ = sorted(k for k in set(got["files"]) | set(reference["files"])
                        if got["files"].get(k) != reference["files"].get(k))
        wrong = int(bool(differ))
        if differ:
            print(f"    export: files differ from the reference: {differ}")
    elif name == "benchmark":
        missing = set(reference["runs"]) - set(got["runs"])
        lost = 0 if partial else len(missing)
        wrong = sum(got["runs"][k] != reference["runs"].get(k) for k in got["runs"])
        if not partial and got.get("report") != reference.get("report"):
            wrong += 1
    elif name == "tune":
        extra = set(got["completed"]) - set(reference["completed"])
        lost = 0 if partial else len(set(reference["completed"]) - set(got["completed"]))
        wrong = len(extra) + int("best" in got and got["best"] != reference["best"])
    return lost, wrong, deviation


# -- running and killing ------------------------------------------------------------------
def _env(scenario):
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "LIB_TF_DATA": str(DATA), **scenario.env}


def _start(scenario, work, out, log):
    return subprocess.Popen(scenario.argv(work, out), cwd=work, env=_env(scenario), stdout=log, stderr=subprocess.STDOUT)


def run_to_end(scenario, work, out, log_path):
    start = time.perf_counter()
    with open(log_path, "ab") as log:
        status = _start(scenario, work, out, log).wait()
    seconds = time.perf_counter() - start
    text = Path(log_path).read_text(errors="replace")
    already = "already holds a finished result" in text[-2000:] or "already exists" in text[-2000:]
    if status != 0 and not (status == 2 and already):
        raise RuntimeError(f"{scenario.name} exited with {status}:\n{text[-3000:]}")
    return seconds


def _output_size(out: Path) -> int:
    return sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) if out.exists() else 0


def kill_once(scenario, work, out, log_path, rng, reference_seconds, mode):
    """Start the command, SIGKILL it at a random moment; True if it was killed (not finished)."""
    with open(log_path, "ab") as log:
        process = _start(scenario, work, out, log)
        if mode == "uniform":
            deadline = time.perf_counter() + rng.uniform(0, reference_seconds)
            while time.perf_counter() < deadline and process.poll() is None:
                time.sleep(0.01)
        else:  # strike while it writes: once its output changes, within the next 0.3 s
            before = _output_size(out)
            while process.poll() is None and _output_size(out) == before:
                time.sleep(0.005)
            time.sleep(rng.uniform(0, 0.3))
        if process.poll() is not None:
            return False
        process.send_signal(signal.SIGKILL)
        process.wait()
        return True


@dataclass
class Tally:
    kills: int = 0
    finished_before_kill: int = 0
    trials: int = 0
    lost: int = 0
    duplicated: int = 0
    wrong: int = 0
    leftovers: int = 0
    max_deviation: float = 0.0
    reference_seconds: float = 0.0
    problems: list = field(default_factory=list)


def prepare(work: Path):
    (work / "tiny.json").write_text(json.dumps({"model": "paper", "epochs": 2, "hidden_units": 8, "latent_dim": 4, "seed": 0}))


def reference_result(scenario, work: Path):
    """Run the command uninterrupted in a fresh folder: (result, seconds)."""
    out = work / f"{scenario.name}-reference"
    shutil.rmtree(out, ignore_errors=True)
    seconds = run_to_end(scenario, work, out, work / f"{scenario.name}-reference.log")
    result = read_result(scenario.name, out)
    if result is None:
        raise RuntimeError(f"the uninterrupted {scenario.name} left no result in {out}")
    return result, seconds


def run_trials(scenario, work: Path, kills: int, seed: int, reference=None, max_kills_per_trial: int = 3) -> Tally:
    """At least ``kills`` SIGKILLs of ``scenario``'s command, each trial resumed to the end."""
    rng = np.random.default_rng(seed)
    if reference is None:
        reference = reference_result(scenario, work)
    result, seconds = reference
    tally = Tally(reference_seconds=seconds)
    trial = 0
    while tally.kills < kills:
        trial += 1
        out = work / f"{scenario.name}-trial{trial}"
        shutil.rmtree(out, ignore_errors=True)
        log = work / f"{scenario.name}-trial{trial}.log"
        for _ in range(int(rng.integers(1, max_kills_per_trial + 1))):
            mode = "uniform" if tally.kills % 2 == 0 else "writing"
            if kill_once(scenario, work, out, log, rng, seconds, mode):
                tally.kills += 1
            else:
                tally.finished_before_kill += 1
            try:  # whatever looks finished now must be whole and right
                got = read_result(scenario.name, out, finished_only=False)
            except (ValueError, OSError, KeyError) as error:
                tally.wrong += 1
                tally.problems.append(f"trial {trial} after a kill: {type(error).__name__}: {error}")
                got = None
            if got is not None:
                _, wrong, _ = compare(scenario.name, got, result, partial=True)
                if wrong:
                    tally.wrong += wrong
                    tally.problems.append(f"trial {trial}: a result that looks finished differs after a kill")
        tally.trials += 1
        try:
            run_to_end(scenario, work, out, log)
            got = read_result(scenario.name, out)
        except (RuntimeError, ValueError, OSError, KeyError) as error:
            message = str(error)
            tally.duplicated += int("duplicated" in message or "ran twice" in message or "versions" in message)
            tally.lost += int(not ("duplicated" in message or "ran twice" in message))
            tally.problems.append(f"trial {trial} resume: {type(error).__name__}: {message[-1500:]}")
            continue
        if got is None:
            tally.lost += 1
            tally.problems.append(f"trial {trial}: no result after the resume")
            continue
        lost, wrong, deviation = compare(scenario.name, got, result, partial=False)
        tally.lost += lost
        tally.wrong += wrong
        tally.max_deviation = max(tally.max_deviation, deviation)
        if lost or wrong:
            tally.problems.append(f"trial {trial}: lost {lost}, wrong {wrong}, deviation {deviation:.3g}")
        left = _partials(out)
        if left:
            tally.leftovers += len(left)
            tally.problems.append(f"trial {trial}: left behind {left}")
        shutil.rmtree(out, ignore_errors=True)
    return tally


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=20, help="kills per command (default 20)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--commands", nargs="*", choices=list(scenarios()), help="default: all")
    parser.add_argument("--work", help="working folder (default: a temporary one, removed at the end)")
    args = parser.parse_args(argv)
    if not (DATA / "SJAFFE.mat").is_file():
        print(f"needs the LDL data (SJAFFE.mat) in {DATA}: set LIB_TF_DATA", file=sys.stderr)
        return 2
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="lib_tf_faults-"))
    work.mkdir(parents=True, exist_ok=True)
    prepare(work)
    chosen = args.commands or list(scenarios())
    print(f"command: python benchmarks/fault_injection.py --kills {args.kills} --seed {args.seed}"
          + (f" --commands {' '.join(chosen)}" if args.commands else ""), flush=True)
    failed = False
    rows = []
    start = time.perf_counter()
    for index, name in enumerate(chosen):
        scenario = scenarios()[name]
        t0 = time.perf_counter()
        tally = run_trials(scenario, work, args.kills, args.seed + index)
        rows.append((name, tally, time.perf_counter() - t0, scenario))
        print(f"{name:<10} kills {tally.kills:>3} (+{tally.finished_before_kill} finished first)  trials resumed "
              f"{tally.trials:>3}  lost {tally.lost}  duplicated {tally.duplicated}  wrong {tally.wrong}  leftovers "
              f"{tally.leftovers}  max deviation {tally.max_deviation:.2g}  (uninterrupted run {tally.reference_seconds:.1f} s, "
              f"all trials {rows[-1][2]:.0f} s)", flush=True)
        for problem in tally.problems:
            print(f"    {problem}")
        failed |= bool(tally.lost or tally.duplicated or tally.wrong or tally.leftovers)
    print(f"total: {sum(r[1].kills for r in rows)} kills in {time.perf_counter() - start:.0f} s")
    print("commands (run in the working folder; {out} a fresh folder per trial):")
    for name, _, _, scenario in rows:
        env = " ".join(f"{k}={v}" for k, v in scenario.env.items())
        print(f"  {name}: {env + ' ' if env else ''}lib-tf {' '.join(scenario.args)}")
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
