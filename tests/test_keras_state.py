import gc

import keras
import numpy as np
from tensorflow.python.framework.func_graph import FuncGraph

from lib_tf import LabelEnhancer
from lib_tf._keras_state import _custom_gradient_registry, released_keras_state
from lib_tf.model import LIB


def _train_step_graphs():
    gc.collect()
    return sum(isinstance(o, FuncGraph) and o.name.startswith("one_step_on_data") for o in gc.get_objects())


def _toy():
    rng = np.random.default_rng(0)
    return rng.normal(size=(40, 5)).astype(np.float32), np.eye(3, dtype=np.float32)[rng.integers(0, 3, 40)]


def _new_registrations(before):
    return {name for name in _custom_gradient_registry() if name.startswith("CustomGradient-")} - before


def test_released_keras_state_frees_the_traced_train_step():
    # Keras' optimizer registers a tf.custom_gradient in TF's global registry per traced train
    # step; the registry would keep that step's graph for the life of the process.
    X, L = _toy()
    graphs_before, registered_before = _train_step_graphs(), set(_custom_gradient_registry())
    with released_keras_state():
        model = LIB(3, hidden_units=8, latent_dim=4, seed=0)
        model.adapt(X)
        model.compile(keras.optimizers.Adam(1e-3))
        model.fit(X, L, epochs=1, batch_size=16, verbose=0)
        registered_by_fit = _new_registrations(registered_before)
        del model
    assert registered_by_fit, "the fit registered no custom gradient: TF may free them itself now"
    assert _new_registrations(registered_before) == set()
    assert _train_step_graphs() == graphs_before


def test_every_label_enhancer_fit_releases_its_train_step_even_outside_the_benchmark():
    """A notebook that fitted 50 LabelEnhancers kept ~30 MB per fit for good (the registry
    held each traced train step); the fitted enhancer still reads out, and once it is dropped
    nothing of its training stays (benchmarks/memory_growth.py measures the process)."""
    X, L = _toy()
    graphs_before, registered_before = _train_step_graphs(), set(_custom_gradient_registry())
    enhancer = LabelEnhancer(model="paper", epochs=1, hidden_units=8, latent_dim=4, random_state=0).fit(X, L)
    assert _new_registrations(registered_before) == set()
    assert enhancer.transform(X[:5]).shape == (5, 3)
    del enhancer
    assert _train_step_graphs() == graphs_before
