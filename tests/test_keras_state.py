import gc

import numpy as np
from tensorflow.python.framework.func_graph import FuncGraph

from lib_tf import LabelEnhancer
from lib_tf._keras_state import _custom_gradient_registry, released_keras_state


def test_released_keras_state_frees_the_traced_train_step():
    # Keras' optimizer registers a tf.custom_gradient in TF's global registry per traced train
    # step; the registry would keep that step's graph for the life of the process.
    def train_step_graphs():
        gc.collect()
        return sum(isinstance(o, FuncGraph) and o.name.startswith("one_step_on_data") for o in gc.get_objects())

    rng = np.random.default_rng(0)
    X, L = rng.normal(size=(40, 5)), np.eye(3)[rng.integers(0, 3, 40)]
    graphs_before, registered_before = train_step_graphs(), set(_custom_gradient_registry())
    with released_keras_state():
        LabelEnhancer(epochs=1, hidden_units=8, latent_dim=4, seed=0).fit(X, L)
        registered_by_fit = set(_custom_gradient_registry()) - registered_before
    assert any(name.startswith("CustomGradient-") for name in registered_by_fit)
    assert set(_custom_gradient_registry()) - registered_before == set()
    assert train_step_graphs() == graphs_before
