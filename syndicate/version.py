"""The version of this Syndicate, written once: in pyproject.toml (read from the installed metadata)."""

from importlib.metadata import version

__version__ = version("syndicate")
