"""``python -m readerstudy`` runs the CLI (also the PyInstaller entry point)."""

import sys

if getattr(sys, "frozen", False):
    # A frozen app's worker processes (spawn: Windows, macOS) re-enter here.
    import multiprocessing

    multiprocessing.freeze_support()

from readerstudy.cli import main

main()
