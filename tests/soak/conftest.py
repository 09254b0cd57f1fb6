"""The crash soak (bench/soakkit.py): Callboard's task worker SIGKILLed again and again
under a push and live calls, then checked with no hand on it. Every test here is marked
`soak`; the PostgreSQL runs are skipped, with the reason, when `make test`'s services are
not there (as in tests/scale)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.scale.conftest import _skip_reason


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = str(Path(__file__).parent)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.soak)


def postgresql_skip_reason() -> str:
    return _skip_reason()
