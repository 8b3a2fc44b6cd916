from pathlib import Path

from setuptools import find_packages, setup

version = {}
exec(Path("lib_tf/_version.py").read_text(), version)

# Ranges, so that lib_tf installs beside a TensorFlow a user already has (Colab's, say) when
# it lies inside them. The exact set CI tests is constraints.txt (`pip install -c constraints.txt .`).
# Lower bounds are what the code needs (all of them together: tests/ pass at the floors on
# Python 3.10), upper bounds the release lines the code was written for. The TensorFlow family
# moves together: each tf-keras and tensorflow-serving-api release requires its own TensorFlow
# minor or newer, so their ranges are TensorFlow's; pip, left alone, takes their newest release
# and upgrades TensorFlow to match, hence the README's advice to name the installed TensorFlow.
REQUIRED = [
    # 2.18: TFP 0.25 refuses an older TensorFlow at import; 2.21: the newest release tested
    "tensorflow>=2.18,<2.22",
    # 3.10: the first whose MirroredStrategy training matches one device (tests/test_distribute.py
    # fails with 3.9 on TF 2.18; 3.7 cannot even create a SeedGenerator under a strategy); 3.7
    # brought the BackupAndRestore._load_model/_save_model that AtomicBackupAndRestore overrides
    "keras>=3.10,<4",
    "tf-keras>=2.18,<2.22",  # TFP's Keras under Keras 3
    # 0.25: MultivariateNormalDiag, kl_divergence; the first release for TF 2.18 and NumPy 2
    "tensorflow-probability>=0.25,<0.26",
    # 1.4.6: first on Keras 3 (older ones import keras_core); 1.4.7: a parallel search's chief
    # saves its state before serving; lib_tf.tuning reads the oracle's state files, so the range
    # stops before a minor release not yet seen
    "keras-tuner[bayesian]>=1.4.7,<1.5",
    "tensorboard>=2.18,<2.22",  # Keras Tuner fails every trial without it; TF 2.21 no longer pulls it in
    "tensorflow-serving-api>=2.18,<2.22",  # TF Serving protos for export warm-up and lib_tf.serving
    "numpy>=1.26,<3",  # TensorFlow 2.18-2.21's own lower bound
    "scipy>=1.13,<2",  # sparse.linalg.cg(rtol=) needs 1.12; 1.13 is the first built for NumPy 2
    "scikit-learn>=1.4.2,<2",  # 1.4.2: the first built for NumPy 2
    "matplotlib>=3.8.4,<4",  # 3.8.4: the first built for NumPy 2
    "tqdm>=4.64,<5",
]
DEV = ["pytest>=8,<10", "pytest-xdist>=3.5,<4", "nbmake>=1.5,<2", "hypothesis>=6.100,<7"]

setup(
    name="lib_tf",
    version=version["__version__"],
    description="Label Enhancement with the Label Information Bottleneck (CVPR 2023) in TensorFlow/Keras",
    long_description=Path("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["lib_tf", "lib_tf.*"]),
    # tuned settings (LabelEnhancer.from_preset) and the paper's Table 2 (the benchmark report)
    package_data={"lib_tf": ["presets.json", "data/paper_table2.csv"]},
    include_package_data=True,
    # TensorFlow 2.21 ships wheels for CPython 3.10-3.13 (none for 3.14); CI runs 3.11, and the
    # pinned set of constraints.txt needs 3.11+ (NumPy 2.4, SciPy 1.17)
    python_requires=">=3.10,<3.14",
    install_requires=REQUIRED,
    extras_require={"dev": DEV},
    entry_points={"console_scripts": ["lib-tf=lib_tf.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3.10",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
        "Programming Language :: Python :: 3.13",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
