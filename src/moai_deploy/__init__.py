"""moai-deploy: gated, progressive, traceable releases of Python web services."""

__version__ = "0.1.0"
