"""``lucent events tail``: the domain events of the store, filtered, as lines or JSON."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from click.testing import CliRunner

from lucent_platform.cli.main import cli
from lucent_platform.config import Settings, with_overrides
from lucent_platform.domain.bridge import command_for
from lucent_platform.domain.config import DomainConfig
from lucent_platform.eventstore import SQLiteEventStore
from lucent_platform.topics import YIELD_OPPORTUNITIES
from streaming.domain.handler import DomainHandler
from tests.domain_flow import yield_signal


def test_tail_prints_the_last_events_of_a_stream(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    settings = with_overrides(settings, eventstore_path=path)
    with SQLiteEventStore(path) as store:
        handler = DomainHandler(store, DomainConfig(portfolio="cli"), lambda: 1_000, Counter())
        for i in range(3):
            value, _ = yield_signal(f"pool-{i}", protocol=f"p{i}", market_id=f"m-{i}")
            handler.handle(command_for(YIELD_OPPORTUNITIES, 0, i, value, 0))
    runner = CliRunner()
    out = runner.invoke(
        cli, ["events", "tail", "-n", "2", "--stream", "portfolio-cli", "--json"],
        obj={"settings": settings},
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    lines = [json.loads(line) for line in out.output.splitlines()]
    assert [(e["stream"], e["streamPosition"]) for e in lines] == [
        ("portfolio-cli", 1), ("portfolio-cli", 2),
    ]  # fmt: skip
    assert lines[-1]["type"] == "PositionRecommendationEvent"
    assert lines[-1]["metadata"]["correlationId"] == "m-2"
    assert lines[-1]["data"]["instrument"] == "pool-2"
    text = runner.invoke(cli, ["events", "tail", "--type", "YieldOpportunityDetected"],
                         obj={"settings": settings})  # fmt: skip
    assert text.exit_code == 0 and len(text.output.splitlines()) == 3
    assert "corr=m-0" in text.output.splitlines()[0]
