"""The service's own version; the demo rewrites the line below to make a v2."""

__version__ = "1.0.0"
