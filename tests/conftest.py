"""Test harness: real services (broker, NATS, ClickHouse, event store) started once per session.

Each service's session fixture lives in its own plugin module under ``tests/fixtures/``.
"""

from __future__ import annotations

import pytest

pytest_plugins = [
    "tests.fixtures.kafka",
    "tests.fixtures.nats",
    "tests.fixtures.clickhouse",
    "tests.fixtures.eventstore",
    "tests.fixtures.jsonrpc",
]

SHARED_SCOPES = {"module", "class", "package"}


@pytest.hookimpl(tryfirst=True)  # before xdist reads the xdist_group marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``make test`` (``-n 2 --dist loadgroup``): each worker takes the next test when it is
    done with one. The ``slow`` tests go first, so they spread over both workers from the start
    and the short ones fill the gaps at the end (instead of one worker running a long test
    alone at the end); the tests of a module with a module-scoped fixture (a whole stack, the
    Dagster webserver) stay on one worker, so it is set up once."""
    if config.getoption("dist", default="no") != "loadgroup":
        return
    for item in items:
        defs = getattr(item, "_fixtureinfo", None)
        if defs is not None and any(
            fixture.scope in SHARED_SCOPES
            for fixtures in defs.name2fixturedefs.values()
            for fixture in fixtures
        ):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.partition("::")[0]))
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
