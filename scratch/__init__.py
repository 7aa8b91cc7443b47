"""scratch: the generative models of 'Deep Learning from Scratch 5', built from scratch in NumPy."""

__version__ = "0.1.0"
