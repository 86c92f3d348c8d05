"""The package version, kept in step with pyproject.toml (tests/test_hygiene.py)."""

VERSION = "0.1.0"
