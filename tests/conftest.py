"""Test harness: real services (broker, NATS, ClickHouse, event store) started once per session.

Each service's session fixture lives in its own plugin module under ``tests/fixtures/``.
"""

pytest_plugins = [
    "tests.fixtures.kafka",
    "tests.fixtures.nats",
    "tests.fixtures.clickhouse",
    "tests.fixtures.eventstore",
    "tests.fixtures.jsonrpc",
]
