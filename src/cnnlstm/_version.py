"""The package version, written here and nowhere else (pyproject.toml reads it from this file)."""

__version__ = "0.1.0"
