"""FusedAdam: Adam's arithmetic, one op per variable (lib_tf.model.optimizer)."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from lib_tf.model.optimizer import FusedAdam

START = np.array([[0.5, -1.0, 2.0], [3.0, 0.0, -0.25]], np.float32)
TARGET = np.array([[1.0, 1.0, 1.0], [-1.0, 2.0, 0.5]], np.float32)


def numpy_adam(steps, learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    """Adam on the loss sum((w - TARGET)^2), written out in NumPy."""
    weights, m, v = START.astype(np.float64), 0.0, 0.0
    for t in range(1, steps + 1):
        gradient = 2 * (weights - TARGET)
        m = beta_1 * m + (1 - beta_1) * gradient
        v = beta_2 * v + (1 - beta_2) * gradient ** 2
        step_size = learning_rate * np.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)
        weights = weights - step_size * m / (np.sqrt(v) + epsilon)
    return weights


def run(optimizer, steps, weights=None):
    weights = weights if weights is not None else keras.Variable(START)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.square(weights - TARGET))
        optimizer.apply_gradients([(tape.gradient(loss, weights), weights)])

    for _ in range(steps):
        step()
    return keras.ops.convert_to_numpy(weights)


def test_fused_adam_is_adam():
    fused = run(FusedAdam(0.1), 25)
    np.testing.assert_allclose(fused, numpy_adam(25, 0.1), rtol=1e-5, atol=1e-6)
    # Keras' own Adam rounds its ~20 float32 ops differently: the same within float32 noise.
    np.testing.assert_allclose(fused, run(keras.optimizers.Adam(0.1), 25), atol=1e-4)


def test_fused_adam_follows_a_changed_learning_rate():
    optimizer, weights = FusedAdam(0.1), keras.Variable(START)
    after_one = run(optimizer, 1, weights)
    optimizer.learning_rate = 0.0  # as the two-stage schedule assigns it
    np.testing.assert_array_equal(run(optimizer, 3, weights), after_one)
    optimizer.learning_rate = 0.1
    assert not np.allclose(run(optimizer, 1, weights), after_one)


def test_fused_adam_refuses_amsgrad():
    with pytest.raises(ValueError, match="amsgrad"):
        FusedAdam(1e-3, amsgrad=True)


def test_fused_adam_round_trips_its_config():
    optimizer = keras.optimizers.deserialize(keras.optimizers.serialize(FusedAdam(0.01, beta_1=0.8)))
    assert isinstance(optimizer, FusedAdam)
    assert optimizer.beta_1 == 0.8 and float(optimizer.learning_rate.numpy()) == pytest.approx(0.01)
