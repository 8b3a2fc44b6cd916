"""The named choices of LIB's settings (no TensorFlow needed): the Keras model checks them, and
``LabelEnhancer`` declares them as its parameter constraints without loading TensorFlow."""

ASSIGNMENTS = ("squared", "cross_entropy")
GAP_TARGETS = ("logits", "probabilities")
REDUCTIONS = ("mean", "sum")
NETWORK_DTYPES = ("float32", "mixed_bfloat16")
#: The models ``LabelEnhancer`` fits: the paper's LIB, or LIB whose posterior reads the labels too.
MODELS = ("paper", "label-aware")
