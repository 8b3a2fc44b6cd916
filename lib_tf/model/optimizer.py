"""The optimiser the training path compiles with: Keras' Adam, one op per variable."""
from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="lib_tf")
class FusedAdam(keras.optimizers.Adam):
    """``keras.optimizers.Adam`` whose update of each variable is one ``ResourceApplyAdam`` op.

    Keras writes Adam's update as about twenty small ops per variable. LIB has 24 variables,
    and at its batch of 128 those ops took 1.6 ms of a 6.7 ms step on a 2-core CPU, against
    0.8 ms for the fused op (``benchmarks/training_overhead.py``, ``benchmarks/LIB.md``).
    The arithmetic is Adam's as Keras writes it (epsilon added to ``sqrt(v)``, the bias
    corrections folded into the step size); weights agree with Keras' Adam to about 1e-6
    after 100 steps. Momenta, velocities, the iteration count, schedules, clipping, weight
    decay and ``tf.distribute`` strategies are Keras' own. ``amsgrad`` is not supported.
    """

    def __init__(self, learning_rate=1e-3, **kwargs):
        if kwargs.get("amsgrad"):
            raise ValueError("FusedAdam does not support amsgrad=True: use keras.optimizers.Adam")
        super().__init__(learning_rate=learning_rate, **kwargs)

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        index = self._get_variable_index(variable)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle, m=self._momentums[index].value.handle, v=self._velocities[index].value.handle,
            beta1_power=tf.pow(beta_1, step), beta2_power=tf.pow(beta_2, step), lr=tf.cast(learning_rate, dtype),
            beta1=beta_1, beta2=beta_2, epsilon=tf.cast(self.epsilon, dtype), grad=tf.cast(gradient, dtype))
