"""Package version, kept equal to the distribution version by a test."""

__version__ = "0.1.0"
