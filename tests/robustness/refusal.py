"""The shape every refusal of bad input takes on the command line."""

from __future__ import annotations


def assert_one_line(result, *needles: str) -> str:
    """Exit 2 and one line (so no traceback) holding every needle; returns that line."""
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]
