from pathlib import Path

from setuptools import find_packages, setup

version = {}
exec(Path("lib_tf/_version.py").read_text(), version)

# A set known to install and import together on Python 3.11 (TFP 0.25 needs tf-keras;
# Keras Tuner fails every trial without tensorboard).
REQUIRED = [
    "tensorflow==2.21.0",
    "keras==3.15.1",
    "tf-keras==2.21.0",
    "tensorflow-probability==0.25.0",
    "keras-tuner[bayesian]==1.4.8",
    "tensorboard==2.21.0",
    "tensorflow-serving-api==2.21.0",  # TF Serving protos for export warm-up and lib_tf.serving
    "numpy==2.4.6",
    "scipy==1.17.1",
    "scikit-learn==1.9.1",
    "matplotlib==3.11.2",
    "tqdm==4.70.1",
]
DEV = ["pytest==9.2.0", "nbmake==1.5.5", "hypothesis==6.170.17"]

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
    python_requires=">=3.11,<3.12",
    install_requires=REQUIRED,
    extras_require={"dev": DEV},
    entry_points={"console_scripts": ["lib-tf=lib_tf.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3.11",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
