"""``python -m syndicate`` runs the operator CLI."""

from .cli import main

main()
