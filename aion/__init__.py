"""AI-on: a local-first AI platform for small and medium manufacturers."""

__version__ = "0.1.0"
