"""The alert engine as its worker runs it, against the real broker: rules loaded before input,
changed while running (a new rule fires on its next crossing, a tombstone stops one), a
restart that rebuilds the crossing state from checkpoints; and ``lucent alerts`` itself."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from click.testing import CliRunner

from lucent_platform.adapters import kafka
from lucent_platform.cli.main import cli
from lucent_platform.config import Settings, with_overrides
from lucent_platform.signals.apps.alert_rules import parse_rule
from lucent_platform.topics import USER_ALERT_RULES, TopicSpec
from streaming.apps.alerts import run
from streaming.lifecycle import StopSignal
from streaming.runtime import WorkerMetrics
from tests.alert_data import alerts, quote, quote_id, rule
from tests.test_runtime_loop import EARLIEST, create_topics, read_values


class Topics:
    def __init__(self, settings: Settings, bootstrap: str, unique: str) -> None:
        self.settings, self.bootstrap = settings, bootstrap
        self.prices, self.rules = f"al.prices.{unique}", f"al.rules.{unique}"
        self.out, self.checkpoints = f"al.out.{unique}", f"al.cp.{unique}"
        self.group = f"al-{unique}"
        create_topics(settings, bootstrap, TopicSpec(self.prices, 2), TopicSpec(self.out, 1),
                      TopicSpec(self.rules, 1, compacted=True),
                      TopicSpec(self.checkpoints, 1, compacted=True))  # fmt: skip
        self.producer = kafka.producer(settings, bootstrap)

    def write(self, topic: str, key: bytes, *values: bytes | None) -> None:
        for v in values:
            self.producer.produce(topic, v, key)
        assert self.producer.flush(30) == 0

    def start(self) -> tuple[StopSignal, threading.Thread, list[WorkerMetrics]]:
        stop, done = StopSignal(), []

        def main() -> None:
            done.append(run(
                self.settings, self.bootstrap, stop, prices_topic=self.prices,
                rules_topic=self.rules, alerts_topic=self.out,
                checkpoint_topic=self.checkpoints, group_id=self.group, consumer_config=EARLIEST,
            ))  # fmt: skip

        thread = threading.Thread(target=main, daemon=True)
        thread.start()
        return stop, thread, done

    def wait_alerts(self, n: int, timeout: float = 20.0) -> list[Any]:
        return alerts(read_values(self.settings, self.bootstrap, self.out, expect=n,
                                  timeout=timeout))  # fmt: skip


def wait(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_rules_before_and_while_running_tombstones_and_once_per_crossing(
    kafka_bootstrap: str, settings: Settings, unique: str
) -> None:
    t = Topics(settings, kafka_bootstrap, unique)
    t.write(t.rules, b"r1", rule(user_id="u1", pair="ETH-USDC", type="above", level=100))
    pair = b"ETH-USDC"
    # below, cross (alert), stay above (none), fall back, cross again (alert)
    t.write(t.prices, pair, *(quote(i, p) for i, p in enumerate([95, 101, 105, 102, 99, 100])))
    stop, thread, done = t.start()
    try:
        assert t.wait_alerts(2) == [
            ("r1", "u1", "binance", 101, quote_id(1)),
            ("r1", "u1", "binance", 100, quote_id(5)),
        ]
        # while running: r1 deleted, r2 added (below 90); prices cross both levels
        t.write(t.rules, b"r1", None)
        t.write(t.rules, b"r2", rule(user_id="u2", pair="eth-usdc", type="below", level=90))
        time.sleep(0.5)  # the rules arrive before the prices that follow
        t.write(t.prices, pair, *(quote(i, p) for i, p in [(6, 95), (7, 89), (8, 120), (9, 88)]))
        got = t.wait_alerts(4)
    finally:
        stop.set()
        thread.join(20)
    assert got[2:] == [
        ("r2", "u2", "binance", 89, quote_id(7)),
        ("r2", "u2", "binance", 88, quote_id(9)),
    ]
    assert len(got) == 4 and done and done[0].counts["table_updates"] >= 3


def test_restart_rebuilds_the_crossing_state_from_checkpoints(
    kafka_bootstrap: str, settings: Settings, unique: str
) -> None:
    """The first quote after the restart crosses: only a worker that rebuilt the state from the
    quotes before it (the checkpointed span, re-read) knows it was below, and fires; the
    re-read quotes fire nothing again."""
    t = Topics(settings, kafka_bootstrap, unique)
    t.write(t.rules, b"r1", rule(user_id="u1", pair="ETH-USDC", type="above", level=100))
    t.write(t.rules, b"m", rule(user_id="u3", pair="ETH-USDC", type="move", level=5,
                                window_ms=60_000))  # fmt: skip
    first = [(0, 95.0), (1, 101.0), (2, 97.0), (3, 96.0)]  # r1 fires at 1; m (+6.3 %) at 1
    t.write(t.prices, b"ETH-USDC", *(quote(i, p) for i, p in first))
    stop, thread, done = t.start()
    assert len(t.wait_alerts(2)) == 2
    time.sleep(1.5)  # a checkpoint is written after the batch (every second) and on stop
    stop.set()
    thread.join(20)
    assert done
    t.write(t.prices, b"ETH-USDC", quote(4, 102.0))  # crosses 100; +6.25 % from 96
    stop, thread, done = t.start()
    try:
        got = t.wait_alerts(4)
    finally:
        stop.set()
        thread.join(20)
    assert done[0].counts["rebuilt_partitions"] >= 1 and done[0].counts["rebuilt_records"] >= 4
    ids = [a[0] + "/" + a[4] for a in got]
    assert len(ids) == len(set(ids)) == 4  # nothing repeated
    assert sorted(got) == sorted([
        ("m", "u3", "binance", 101, quote_id(1)), ("r1", "u1", "binance", 101, quote_id(1)),
        ("r1", "u1", "binance", 102, quote_id(4)),
        ("m", "u3", "binance", 102, quote_id(4)),
    ])  # fmt: skip


def test_cli_add_list_remove_against_the_broker(own_broker: str, settings: Settings) -> None:
    settings = with_overrides(settings, kafka_bootstrap_servers=own_broker)
    create_topics(settings, own_broker, TopicSpec(USER_ALERT_RULES, 1, compacted=True))
    runner = CliRunner()

    def lucent(*args: str) -> Any:
        return runner.invoke(cli, list(args), obj={"settings": settings})

    added = lucent("alerts", "add", "--user", "u1", "--pair", "eth/usdc", "--above", "2800")
    assert added.exit_code == 0, added.output
    first_id = added.output.strip()
    hostile = "x'; DROP TABLE t;-- ../../market.prices.all"
    refused = lucent("alerts", "add", "--user", hostile, "--pair", "BTC-USDT", "--above", "1")
    assert refused.exit_code == 2 and "notify.user" in refused.output  # a NATS subject token
    assert lucent("alerts", "add", "--user", "u_3", "--pair", "BTC-USDT", "--move", "5",
                  "--within", "10m", "--id", "r/../1").exit_code == 0  # fmt: skip
    assert lucent("alerts", "add", "--user", "u2", "--pair", "ETH-USDT", "--spread", "25",
                  "--id", "s1").exit_code == 0  # fmt: skip
    listed = json.loads(lucent("alerts", "list", "--format", "json").output)
    assert [r["id"] for r in listed] == sorted([first_id, "r/../1", "s1"])
    by_id = {r["id"]: r for r in listed}
    assert by_id[first_id]["pair"] == "ETH-USDC" and by_id[first_id]["level"] == 2800
    assert by_id["r/../1"]["userId"] == "u_3" and by_id["r/../1"]["windowMs"] == 600_000
    table = lucent("alerts", "list", "--user", "u2").output
    assert "s1" in table and "spread above 25 bps" in table and first_id not in table

    removed = lucent("alerts", "remove", "s1")
    assert removed.exit_code == 0 and "removed s1" in removed.output
    assert lucent("alerts", "remove", "s1").exit_code == 1  # gone
    assert [r["id"] for r in json.loads(lucent("alerts", "list", "--format", "json").output)] == (
        sorted([first_id, "r/../1"])
    )
    records = kafka.read_topic(settings, own_broker, USER_ALERT_RULES)
    assert records[-1].key == b"s1" and records[-1].value is None  # a tombstone
    assert parse_rule(records[0].value or b"").pair == "ETH-USDC"

    for args, words in [
        (["--above", "1", "--below", "2"], "exactly one"),
        (["--above", "nan"], "finite"),
        (["--below", "-3"], "positive"),
        (["--move", "5"], "period"),
        (["--above", "5", "--within", "1m"], "--within goes with --move"),
        (["--move", "5", "--within", "soon"], "not a duration"),
        (["--spread", "5", "--exchange", "binance"], "no exchange"),
    ]:
        bad = lucent("alerts", "add", "--user", "u", "--pair", "ETH-USDC", *args)
        assert bad.exit_code == 2 and words in bad.output, (args, bad.output)
    bad = lucent("alerts", "add", "--user", "u", "--pair", "ETH-USDC.all", "--above", "1")
    assert bad.exit_code == 2 and "pair" in bad.output
