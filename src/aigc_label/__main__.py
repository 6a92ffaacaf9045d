"""``python -m aigc_label`` runs the CLI."""

from .cli import main

main()
