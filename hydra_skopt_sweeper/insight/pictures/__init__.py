"""The pictures of a sweep, one module per subject (see :mod:`.draw`)."""
from .draw import draw_plots, picture_names

__all__ = ["draw_plots", "picture_names"]
