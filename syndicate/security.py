"""Placeholder: filled in by its issue."""

from flask import Flask


def init_app(app: Flask) -> None:
    pass
