"""Releasing what Keras and TensorFlow keep of a finished fit, for processes that run many."""
from __future__ import annotations

import contextlib
import sys


def _custom_gradient_registry():
    """TensorFlow's registry of gradient functions (private; None where a TF version lacks it)."""
    if "tensorflow" not in sys.modules:
        return None
    from tensorflow.python.framework import ops

    return getattr(getattr(ops, "_gradient_registry", None), "_registry", None)


@contextlib.contextmanager
def released_gradient_registrations():
    """Run a fit, then drop the gradient functions ``tf.custom_gradient`` registered during it.

    Keras' optimizer all-reduces gradients through one even without a distribution strategy,
    and TF's global registry keeps it, and through its closure the whole traced train step
    (~30 MB per paper-size LIB fit), for the life of the process. They are looked up only while
    that step is traced; a traced step keeps running without them, and a retrace (new shapes,
    a new ``train_function``) registers its own afresh, so they can go as soon as the fit is
    over, even when its model is kept (``LabelEnhancer`` releases every fit this way).
    Known upstream (tensorflow/tensorflow#97697; TF 2.21 still registers and keeps them);
    drop this once the pinned TF frees them itself (tests/test_keras_state.py tells).
    """
    registered_before = set(_custom_gradient_registry() or ())  # empty where the fit imports TF
    try:
        yield
    finally:
        registry = _custom_gradient_registry()
        if registry is not None:
            for name in [name for name in registry if name.startswith("CustomGradient-") and name not in registered_before]:
                del registry[name]


@contextlib.contextmanager
def released_keras_state():
    """Run a fit (or a tuning trial's fits) whose models are thrown away, then drop what Keras
    and TensorFlow would keep of it for the life of the process.

    Hundreds of fits in one process (a benchmark, a tuning search) otherwise grow its memory
    by gigabytes:
    - Keras' session (graphs, models of finished fits), cleared without Keras' forced
      ``gc.collect``: that full collection grows with the process, to seconds per run late in a
      657-run benchmark (28 of its 99 minutes; 73 without it); Python's own collector frees
      the cycles all the same.
    - The gradient functions of :func:`released_gradient_registrations`.
    """
    with released_gradient_registrations():
        try:
            yield
        finally:
            if "keras" in sys.modules:
                sys.modules["keras"].backend.clear_session(free_memory=False)
