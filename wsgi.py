"""WSGI entry point: ``waitress-serve wsgi:app`` (or ``syndicate serve``)."""

from syndicate import create_app

app = create_app()
