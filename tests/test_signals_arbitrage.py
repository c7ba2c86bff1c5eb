"""The arbitrage detector (issue #6 item 4): scripted quotes give exactly the expected
opportunities (fees, minimum profit and size, expiry after 10 s, once per opening), the
rebuild from a checkpoint gives what an uninterrupted run gives, and the worker does the same
against the real broker, also when killed with SIGKILL and restarted."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from lucent_platform.adapters import kafka
from lucent_platform.config import Settings
from lucent_platform.envelope import decode_as, message_id_for
from lucent_platform.messages import ArbitrageOpportunity, PriceUpdate
from lucent_platform.processing.pipeline import InRecord, Result
from lucent_platform.signals.apps.arbitrage import APP, ArbitrageConfig, arbitrage_config
from lucent_platform.topics import TopicSpec
from streaming.lifecycle import StopSignal
from streaming.runtime import run_worker
from tests.arbitrage_quotes import (
    IN,
    T0,
    detector,
    opportunities,
    quote,
    records,
    run,
    simulated_prices,
)
from tests.test_runtime_loop import EARLIEST, create_topics, read_values

ROOT = Path(__file__).resolve().parent.parent

# --- the pure detector ---------------------------------------------------------------------


def test_a_gap_opens_one_opportunity_with_both_legs_and_the_figures() -> None:
    values = [
        quote("binance", 3000.0, 3000.5, 0),
        quote("kraken", 3000.1, 3000.6, 100),
        quote("kraken", 3040.0, 3040.5, 200, size=2.0),  # opens: buy binance, sell kraken
    ]
    [op] = opportunities(run(values))
    d = op.data
    assert (d.buy_exchange, d.sell_exchange, d.buy_price, d.sell_price) == (
        "binance", "kraken", 3000.5, 3040.0,
    )  # fmt: skip
    spread = (3040.0 - 3000.5) / 3000.5 * 1e4
    assert d.spread_bps == pytest.approx(spread) and d.fees_bps == 36.0
    assert d.net_profit_bps == pytest.approx(spread - 36.0)
    assert (d.size, d.buy_size, d.sell_size) == (2.0, 10.0, 2.0)
    assert d.estimated_profit == pytest.approx(2.0 * (3040.0 * 0.9974 - 3000.5 * 1.001))
    assert (d.window_start_ms, d.window_end_ms) == (T0 + 200 - 10_000, T0 + 200)
    opener = decode_as(values[2], PriceUpdate)
    assert op.header.correlation_id == opener.header.message_id
    assert op.header.message_id == message_id_for(APP, "ETH-USDT", opener.header.message_id)
    assert op.header.event_time_ms == T0 + 200 and d.detection_latency_ms == 5.0 - 200


def test_once_per_opening_again_after_it_closes_and_when_it_improves_materially() -> None:
    values = [
        quote("binance", 3000.0, 3000.5, 0),
        quote("kraken", 3040.0, 3040.5, 100),  # opens (net ~95.6 bps)
        quote("kraken", 3041.0, 3041.5, 200),  # still open, +3 bps: nothing
        quote("kraken", 3040.5, 3041.0, 300),  # nothing
        quote("kraken", 3045.0, 3045.5, 400),  # +15 bps over the last emission: improves
        quote("kraken", 3000.2, 3000.7, 500),  # closes
        quote("kraken", 3040.0, 3040.5, 600, n=2),  # reopens
    ]
    ops = opportunities(run(values))
    assert [o.header.event_time_ms - T0 for o in ops] == [100, 400, 600]


def test_fees_that_eat_the_gap_make_no_opportunity() -> None:
    values = [quote("binance", 3000.0, 3000.5, 0), quote("coinbase", 3012.0, 3012.5, 100)]
    # 38.3 bps gross: binance 10 + coinbase 40 = 50 bps of fees
    assert run(values) == []
    cheap = arbitrage_config({"taker_fees_bps": {"coinbase": 20.0}})
    [op] = opportunities(run(values, cheap))
    assert op.data.fees_bps == 30.0 and op.data.net_profit_bps == pytest.approx(8.33, abs=0.01)


def test_minimum_net_profit_and_minimum_size() -> None:
    values = [quote("binance", 3000.0, 3000.5, 0), quote("kraken", 3015.0, 3015.5, 100)]
    # 48.2 gross - 36 fees = 12.2 bps net
    assert len(run(values)) == 1
    assert run(values, ArbitrageConfig(min_net_profit_bps=15.0)) == []
    assert run(values, ArbitrageConfig(min_size=10.5)) == []
    assert run(values, ArbitrageConfig(min_notional=40_000.0)) == []  # 10 ETH ~ 30k
    thin = [quote("binance", 3000.0, 3000.5, 0, size=0.01), quote("kraken", 3015.0, 3015.5, 100)]
    assert run(thin) == []  # 0.01 ETH is worth less than the 100 minimum
    unknown = [quote("binance", 3000.0, 3000.5, 0, size=None), values[1]]
    assert run(unknown) == []
    [op] = opportunities(run(unknown, ArbitrageConfig(min_notional=0.0)))
    assert op.data.size is None and op.data.estimated_profit is None


def test_a_quote_older_than_ten_seconds_no_longer_counts() -> None:
    values = [
        quote("kraken", 3040.0, 3040.5, 0),
        quote("binance", 3000.0, 3000.5, 10_000),  # kraken's quote is 10 s old: still counts
        quote("coinbase", 3000.0, 3000.5, 10_001),  # kraken's is now older than 10 s
        quote("binance", 2990.0, 2990.5, 10_002),  # nothing to sell on
        quote("kraken", 3040.0, 3040.5, 1, n=2),  # expired on arrival: never counts
    ]
    ops = opportunities(run(values))
    assert [o.header.event_time_ms - T0 for o in ops] == [10_000]
    app = detector()
    result = app.process(records(values))
    assert result.counts["expired"] == 1 and result.counts["stale"] == 1


def test_the_best_net_route_wins_and_pairs_are_apart() -> None:
    values = [
        quote("binance", 3000.0, 3000.5, 0),
        quote("coinbase", 3060.0, 3060.5, 1),  # 198 gross - 50 fees = 148 net
        quote("kraken", 3058.0, 3058.5, 2),  # 192 gross - 36 = 156 net: better
        quote("binance", 60000.0, 60001.0, 3, pair="BTC-USDT"),
    ]
    ops = opportunities(run(values, ArbitrageConfig(improvement_bps=100.0)))
    assert [(o.data.buy_exchange, o.data.sell_exchange) for o in ops] == [("binance", "coinbase")]
    ops = opportunities(run(values, ArbitrageConfig(improvement_bps=5.0)))
    assert [(o.data.buy_exchange, o.data.sell_exchange) for o in ops] == [
        ("binance", "coinbase"), ("binance", "kraken"),
    ]  # fmt: skip


def test_bad_input_is_dead_lettered_and_quotes_without_a_book_skipped() -> None:
    app = detector()
    result = app.process(records([b"{not json", quote("binance", 1.0, 1.0, 0)]))
    assert [o.topic for o in result.outputs] == ["dead"] and result.counts["quotes"] == 1


def test_config_rejects_unknown_fields_and_bad_values() -> None:
    with pytest.raises(ValueError, match="unknown arbitrage config"):
        arbitrage_config({"fees": 1})
    with pytest.raises(ValueError, match="negative"):
        arbitrage_config({"min_notional": -1})
    config = arbitrage_config({"taker_fees_bps": {"binance": 7.5, "okx": 8}})
    assert config.fee_bps("binance") == 7.5 and config.fee_bps("kraken") == 26.0
    assert config.fee_bps("okx") == 8.0 and config.fee_bps("bybit") == 30.0
    with pytest.raises(ValueError, match="arbitrage"):
        Settings(_env_file=None, arbitrage_config={"min_size": "x"})  # type: ignore[call-arg]


def rebuilt_run(values: Sequence[bytes], cuts: Sequence[int]) -> list[bytes]:
    """The outputs of a run stopped at each cut and restarted from its checkpoint: a fresh
    detector restored from the mark and warmed with the records from its start."""
    recs = records(values)
    outputs: list[bytes] = []
    app, done = detector(), 0
    app.assigned([(IN, 0)])
    for cut in [*cuts, len(recs)]:
        outputs += [o.value for o in app.process(recs[done:cut]).outputs]
        mark = app.checkpoint((IN, 0))
        assert mark is not None
        app = detector()
        app.assigned([(IN, 0)])
        app.restore((IN, 0), mark)
        if mark.start is not None:
            app.warm(recs[mark.start : cut])
        done = cut
    return outputs


def test_a_rebuild_from_the_checkpoint_gives_the_uninterrupted_output() -> None:
    values = simulated_prices(4000)
    expected = [o.value for o in run(values)]
    assert len(expected) > 50
    assert rebuilt_run(values, range(37, len(values), 97)) == expected
    assert rebuilt_run(values, range(1, len(values), 13)) == expected


# --- the worker on the real broker ---------------------------------------------------------


def scripted() -> list[bytes]:
    """Two pairs: a gap that opens, improves, closes, reopens; one eaten by fees."""
    return [
        quote("binance", 3000.0, 3000.5, 0),
        quote("kraken", 3040.0, 3040.5, 100),
        quote("kraken", 3041.0, 3041.5, 200),
        quote("binance", 60000.0, 60001.0, 250, pair="BTC-USDT"),
        quote("coinbase", 60200.0, 60201.0, 260, pair="BTC-USDT"),  # 33 bps < 50 of fees
        quote("kraken", 3045.0, 3045.5, 400),
        quote("kraken", 3000.2, 3000.7, 500),
        quote("kraken", 3040.0, 3040.5, 600, n=2),
    ]


def test_the_worker_emits_exactly_the_expected_opportunities(
    kafka_bootstrap: str, settings: Settings, unique: str
) -> None:
    src, out = f"arb.in.{unique}", f"arb.out.{unique}"
    create_topics(settings, kafka_bootstrap, TopicSpec(src, 2), TopicSpec(out, 1))
    producer = kafka.producer(settings, kafka_bootstrap)
    for v in scripted():
        producer.produce(src, v, b"ETH-USDT" if b"ETH-USDT" in v else b"BTC-USDT")
    assert producer.flush(30) == 0
    stop = StopSignal()
    got: list[bytes] = []

    def on_batch(_metrics: object) -> None:
        got[:] = read_values(settings, kafka_bootstrap, out, expect=3, timeout=0.5)
        if len(got) >= 3:
            stop.set()

    app = detector(out=out)
    metrics = run_worker(
        settings, kafka_bootstrap, group_id=f"arb-{unique}", subscribe=[src], processor=app,
        stop=stop, consumer_config=EARLIEST, on_batch=on_batch, idle_tick_s=0.2,
    )  # fmt: skip
    values = read_values(settings, kafka_bootstrap, out, expect=3, timeout=10)
    ops = sorted((decode_as(v, ArbitrageOpportunity) for v in values),
                 key=lambda e: e.header.event_time_ms)  # fmt: skip
    assert [(o.data.pair, o.header.event_time_ms - T0) for o in ops] == [
        ("ETH-USDT", 100), ("ETH-USDT", 400), ("ETH-USDT", 600),
    ]  # fmt: skip
    assert metrics.counts["opportunities"] == 3 and metrics.counts["checkpoints"] > 0


# --- kill and restart ----------------------------------------------------------------------

KILL_AT_BATCH = 6
STREAM = 3000


class Crashing:
    """The detector, killing its process (SIGKILL) before batch ``kill_at``."""

    def __init__(self, out: str, kill_at: int) -> None:
        self.app = detector(out=out)
        self.kill_at, self.batches = kill_at, 0

    def process(self, batch: Sequence[InRecord]) -> Result:
        if batch:
            self.batches += 1
            time.sleep(0.05)  # checkpoints get written before the kill
            if 0 <= self.kill_at <= self.batches:
                os.kill(os.getpid(), signal.SIGKILL)
        return self.app.process(batch)

    def warm(self, records: Sequence[InRecord]) -> None:
        self.app.warm(records)

    def assigned(self, partitions: object) -> None:
        self.app.assigned(partitions)  # type: ignore[arg-type]

    def revoked(self, partitions: object) -> None:
        self.app.revoked(partitions)  # type: ignore[arg-type]

    def checkpoint(self, partition: tuple[str, int]) -> object:
        return self.app.checkpoint(partition)

    def restore(self, partition: tuple[str, int], mark: object) -> None:
        self.app.restore(partition, mark)  # type: ignore[arg-type]


def child_main(argv: list[str]) -> None:
    bootstrap, group, src, out, checkpoints, kill_at, data_dir = argv
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = Settings(_env_file=None, data_dir=Path(data_dir), kafka_session_timeout_ms=3000)  # type: ignore[call-arg]
    metrics = run_worker(
        settings, bootstrap, group_id=group, subscribe=[src],
        processor=Crashing(out, int(kill_at)), stop=StopSignal().install(), batch_size=100,
        consumer_config=EARLIEST, checkpoint_topic=checkpoints, checkpoint_every_s=0.1,
    )  # fmt: skip
    print(json.dumps(dict(metrics.counts)), flush=True)


def deterministic(value: bytes) -> tuple[str, str]:
    """An output without the fields that say when it ran: (id, the rest as JSON)."""
    body = json.loads(value)
    body["header"].pop("receivedTimeMs")
    body["metadata"].pop("latencyMs")
    body["data"].pop("detectionLatencyMs")
    return body["header"]["messageId"], json.dumps(body, sort_keys=True)


def test_a_killed_worker_restarts_with_identical_output(
    kafka_bootstrap: str, settings: Settings, unique: str, tmp_path: Path
) -> None:
    src, out, cps = f"arbk.in.{unique}", f"arbk.out.{unique}", f"arbk.cp.{unique}"
    create_topics(settings, kafka_bootstrap, TopicSpec(src, 1), TopicSpec(out, 1),
                  TopicSpec(cps, 1, compacted=True))  # fmt: skip
    values = simulated_prices(STREAM)
    producer = kafka.producer(settings, kafka_bootstrap)
    for v in values:
        producer.produce(src, v, b"k")
    assert producer.flush(30) == 0
    expected = {deterministic(o.value) for o in run(values)}
    log = tmp_path / "worker.log"

    def start(kill_at: int) -> subprocess.Popen[bytes]:
        argv = [sys.executable, "-m", "tests.test_signals_arbitrage", kafka_bootstrap,
                f"arbk-{unique}", src, out, cps, str(kill_at), str(tmp_path)]  # fmt: skip
        with log.open("ab") as sink:
            return subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=sink)

    first = start(KILL_AT_BATCH)
    assert first.wait(60) == -signal.SIGKILL, log.read_text()[-3000:]
    second = start(-1)
    try:
        deadline = time.monotonic() + 60
        while True:
            got = read_values(settings, kafka_bootstrap, out, expect=len(expected), timeout=5)
            ids = {deterministic(v)[0] for v in got}
            if len(ids) >= len(expected) or time.monotonic() > deadline:
                break
    finally:
        second.send_signal(signal.SIGTERM)
        stdout, _ = second.communicate(timeout=30)
    assert second.returncode == 0, log.read_text()[-3000:]
    counts = json.loads(stdout.decode().strip().splitlines()[-1])
    assert counts["rebuilt_partitions"] == 1 and counts["rebuilt_records"] > 0, counts
    outputs = [deterministic(v) for v in got]
    assert len({body for _, body in outputs}) == len({mid for mid, _ in outputs})  # repeats equal
    assert set(outputs) == expected


if __name__ == "__main__":
    child_main(sys.argv[1:])
