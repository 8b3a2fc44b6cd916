"""LIB as a Keras model and its loss terms."""
from .lib import LIB, TwoStageSchedule

__all__ = ["LIB", "TwoStageSchedule"]
