"""Export figures: a trained SBU_3DFE model exported for TF Serving, checked in a TF-only process.

    LIB_TF_DATA=../shared/ldl .venv/bin/python benchmarks/export_benchmark.py [--epochs N] [--keep DIR]

Prints: training time; export time and folder size (targets: under 10 s, under 5 MB); the
largest difference between ``LabelEnhancer.transform`` and each signature's output in a
process that loads the SavedModel with TensorFlow only (keras, TFP and lib_tf blocked;
target 1e-5); and whether ``saved_model_cli show --all`` lists both signatures.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lib_tf import __version__  # noqa: E402
from lib_tf.data import load_ldl  # noqa: E402
from lib_tf.enhancer import LabelEnhancer  # noqa: E402
from lib_tf.export import export  # noqa: E402
from lib_tf.export.writer import folder_size  # noqa: E402
from lib_tf.metrics import score  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="SBU_3DFE")
    parser.add_argument("--epochs", type=int, default=None, help="default: LabelEnhancer's automatic count")
    parser.add_argument("--alpha", type=float, default=0.001)
    parser.add_argument("--beta", type=float, default=1.0)
    parser.add_argument("--keep", help="export here instead of a temporary folder")
    args = parser.parse_args()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}

    data = load_ldl(args.dataset)
    enhancer = LabelEnhancer(alpha=args.alpha, beta=args.beta, epochs=args.epochs, random_state=0)
    start = time.perf_counter()
    enhancer.fit(data.features, data.logical_labels)
    train_seconds = time.perf_counter() - start
    work = Path(tempfile.mkdtemp(prefix="lib_export_"))
    base = Path(args.keep) if args.keep else work / "model"
    metrics = score(data.distributions, enhancer.distributions_) if data.distributions is not None else None
    start = time.perf_counter()
    path = export(enhancer, base, data_name=data.name,
                  metrics={k: float(v) for k, v in metrics.items()} if metrics else None)
    export_seconds = time.perf_counter() - start
    size = folder_size(path)

    features = data.features  # raw, as the user has them
    expected, gap = enhancer.transform(features), enhancer.gap_deviation(features)
    np.save(work / "x.npy", features)
    start = time.perf_counter()
    check = subprocess.run([sys.executable, str(ROOT / "tools" / "tf_only_check.py"), str(path),
                            str(work / "x.npy"), str(work / "out.npz")], capture_output=True, text=True, env=env)
    check_seconds = time.perf_counter() - start
    if check.returncode != 0:
        print(check.stdout, check.stderr[-3000:])
        raise SystemExit("the TF-only check failed")
    out = np.load(work / "out.npz")
    diffs = {prefix: (float(np.abs(out[f"{prefix}_label_distribution"] - expected).max()),
                      float(np.abs(out[f"{prefix}_gap_deviation"][:, 0] - gap).max()))
             for prefix in ("default", "examples")}
    cli = shutil.which("saved_model_cli", path=str(Path(sys.executable).parent)) or "saved_model_cli"
    shown = subprocess.run([cli, "show", "--all", "--dir", str(path)], capture_output=True, text=True, env=env).stdout
    listed = [name for name in ("serving_default", "serving_examples") if f"signature_def['{name}']" in shown]

    print(f"lib_tf {__version__}; {data}; alpha={args.alpha}, beta={args.beta}, "
          f"{enhancer.epochs_} epochs, networks {enhancer.hidden_units} units, latent {enhancer.latent_dim}")
    print(f"training:        {train_seconds:.1f} s" + (f"  (Chebyshev {metrics['Chebyshev']:.4f}, "
                                                       f"KL {metrics['Kullback-Leibler']:.4f})" if metrics else ""))
    print(f"export:          {export_seconds:.2f} s   (target < 10 s)")
    print(f"folder size:     {size / 1e6:.2f} MB  (target < 5 MB; {size} bytes)")
    print(f"TF-only process: {check.stdout.strip().splitlines()[0]}  ({check_seconds:.1f} s incl. start-up)")
    for prefix, name in (("default", "serving_default (features)"), ("examples", "serving_examples (tf.Example)")):
        print(f"max |signature - transform| via {name}: label_distribution {diffs[prefix][0]:.1e}, "
              f"gap_deviation {diffs[prefix][1]:.1e}  (target 1e-5)")
    print(f"saved_model_cli show --all lists: {', '.join(listed) or 'nothing'}")
    print("command: LIB_TF_DATA=../shared/ldl .venv/bin/python benchmarks/export_benchmark.py"
          + "".join(f" --{k} {v}" for k, v in vars(args).items() if v is not None and k in ("dataset", "epochs")
                    and not (k == "dataset" and v == "SBU_3DFE")))
    ok = export_seconds < 10 and size < 5e6 and max(max(d) for d in diffs.values()) < 1e-5 and len(listed) == 2
    print("all targets met" if ok else "TARGET MISSED")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
