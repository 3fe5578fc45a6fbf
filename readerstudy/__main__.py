"""``python -m readerstudy`` runs the CLI (also the PyInstaller entry point)."""

from readerstudy.cli import main

main()
