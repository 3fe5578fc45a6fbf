"""The packaging smoke test runs only when asked for (``-m package``, ``make package-test``)."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "package" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="the site-build smoke test runs with `make package-test`")
    for item in items:
        if item.get_closest_marker("package"):
            item.add_marker(skip)
