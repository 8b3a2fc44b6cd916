"""A TFX pipeline for LIB: ImportExampleGen -> Tuner -> Trainer -> Pusher.

For users who have TFX; lib_tf does not depend on it, and neither the tests nor we ran this
file (TFX pins older protobuf, absl and scikit-learn than lib_tf, and its ml-metadata wheels
need a newer glibc than Debian 12's). The entry points it names, ``lib_tf.tfx.tuner_fn`` and
``lib_tf.tfx.run_fn``, are tested without TFX in ``tests/test_tfx.py``.

    python examples/tfx_pipeline.py --dataset SJAFFE --serving-dir saved_models/sjaffe

writes the data set as gzipped TFRecords of tf.Example (``lib_tf.tfx.write_examples``), lets
ImportExampleGen split them, searches alpha (weight of the gap term), beta (weight of the KL
term) and the training settings with ``lib_tf.tfx.tuner_fn`` (lib_tf.tuning's hypermodel and
objective), trains with the best values with ``lib_tf.tfx.run_fn`` and
pushes the SavedModel (signatures ``serving_default`` and ``serving_examples``) to
``--serving-dir/<version>/``, ready for ``tensorflow_model_server --model_base_path``.
"""
import argparse
import os

from tfx import v1 as tfx  # keras stays Keras 3 inside lib_tf (it never goes through tf.keras)

import lib_tf
from lib_tf.tfx import write_examples


def create_pipeline(name, root, examples_dir, serving_dir, custom_config, train_steps=2000):
    # train_steps: Adam steps of the Trainer when the Tuner gives no epochs, and the Tuner's
    # epoch budget per trial (lib_tf.tfx turns steps into epochs).
    example_gen = tfx.components.ImportExampleGen(input_base=examples_dir)
    tuner = tfx.components.Tuner(
        tuner_fn="lib_tf.tfx.tuner_fn",
        examples=example_gen.outputs["examples"],
        train_args=tfx.proto.TrainArgs(num_steps=train_steps),
        eval_args=tfx.proto.EvalArgs(num_steps=1),
        custom_config=custom_config,
    )
    trainer = tfx.components.Trainer(
        run_fn="lib_tf.tfx.run_fn",
        examples=example_gen.outputs["examples"],
        hyperparameters=tuner.outputs["best_hyperparameters"],
        train_args=tfx.proto.TrainArgs(num_steps=train_steps),
        eval_args=tfx.proto.EvalArgs(num_steps=1),
        custom_config=custom_config,
    )
    pusher = tfx.components.Pusher(
        model=trainer.outputs["model"],
        push_destination=tfx.proto.PushDestination(
            filesystem=tfx.proto.PushDestination.Filesystem(base_directory=serving_dir)),
    )
    return tfx.dsl.Pipeline(
        pipeline_name=name,
        pipeline_root=os.path.join(root, "pipeline"),
        components=[example_gen, tuner, trainer, pusher],
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
            os.path.join(root, "metadata.sqlite")),
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="Artificial", help="data set name ($LIB_TF_DATA) or .mat path")
    parser.add_argument("--root", default="tfx_lib", help="folder for the pipeline's artifacts and metadata")
    parser.add_argument("--serving-dir", default=None, help="model base folder for TF Serving")
    parser.add_argument("--max-trials", type=int, default=10)
    parser.add_argument("--model", choices=("paper", "label-aware"), default="paper",
                        help="the paper's LIB, or LA-LIB (its export reads each example's logical labels too)")
    args = parser.parse_args()

    data = lib_tf.load_ldl(args.dataset)
    examples_dir = os.path.join(args.root, "examples")
    # Ground-truth distributions ride along: the Tuner's objective becomes their KL divergence
    # on the eval split, and the model card carries the six measures.
    write_examples(os.path.join(examples_dir, "data.tfrecord.gz"), data.features, data.logical_labels,
                   data.distributions)
    custom_config = {
        "data_name": data.name,
        "model_name": data.name.lower(),
        "max_trials": args.max_trials,
        "tuner": "bayesian",
        # Settings under "enhancer" are fixed ({"depth": 3}); everything LIBHyperModel searches is searched.
        "enhancer": {"model": args.model},
        # The defaults, written out: the keys under which the tf.Example rows keep their values.
        "feature_key": "features", "label_key": "logical_labels", "distribution_key": "label_distribution",
    }
    serving_dir = os.path.abspath(args.serving_dir or os.path.join("saved_models", data.name.lower()))
    tfx.orchestration.LocalDagRunner().run(
        create_pipeline(f"lib_{data.name.lower()}", args.root, examples_dir, serving_dir, custom_config))
    print(f"pushed to {serving_dir}; serve it with tensorflow_model_server --model_base_path={serving_dir}")


if __name__ == "__main__":
    main()
