"""Start-up cost of ``readerstudy --help`` against a bare interpreter start."""

from __future__ import annotations

import subprocess
import sys

from benchmarks.harness import compare


def run() -> None:
    def help_() -> None:
        subprocess.run(
            [sys.executable, "-m", "readerstudy", "--help"], check=True, capture_output=True
        )

    def bare() -> None:
        subprocess.run([sys.executable, "-c", "pass"], check=True, capture_output=True)

    compare("cli_help_vs_bare_python", help_, bare, repeats=7)
