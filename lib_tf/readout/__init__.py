"""The read-out: how a model's logits become label distributions, and how a read-out is chosen.

- :mod:`~lib_tf.readout.forms`: the forms (``softmax(z / T)``, ``softmax(z / T_z + l / T_l)``,
  the binarisation rule's projection), their temperature grids and the forms over a grid
  (the candidates a choice is made from); NumPy only.
- :mod:`~lib_tf.readout.tf_forms`: the same forms as TensorFlow ops, which the Keras models
  read out with (the only module here that imports TensorFlow).
- :mod:`~lib_tf.readout.selection`: choosing a candidate, with truth (a measure against known
  distributions) or without (a criterion of the logical labels); one rule for every choice.

Layering: below the models and the baselines, above :mod:`lib_tf.metrics` (which selection
reads) and :mod:`lib_tf.data`. This ``__init__`` imports nothing, so ``import lib_tf.readout``
and its NumPy modules do not load TensorFlow; import the module you need.
"""
