"""kb: a research citation knowledge base."""

__version__ = "0.1.0"
