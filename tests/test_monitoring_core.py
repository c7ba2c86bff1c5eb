"""The stream monitor's pure core: freshness with learned and configured intervals, failure
rates over a sliding window, cross-venue deviation, missing sources; each alert opens once and
resolves once (hysteresis), with a deterministic id; records read from the wire."""

from __future__ import annotations

import msgspec
import pandas as pd
import pytest

from lucent_platform.envelope import encode, message_id_for, new_envelope
from lucent_platform.messages import PriceUpdate, YieldRate
from lucent_platform.messages.monitoring import MonitoringAlert
from lucent_platform.monitoring import records
from lucent_platform.monitoring.alerts import envelope_bytes, latest, still_open, subject
from lucent_platform.monitoring.config import MonitorConfig, monitor_config
from lucent_platform.monitoring.monitor import Monitor
from lucent_platform.monitoring.records import Failure, Message
from lucent_platform.processing import deadletter
from lucent_platform.quality.venues import deviations, venue_deviations
from tests.message_samples import SAMPLES

T0 = 1_795_000_000_000


def kinds(alerts: list[MonitoringAlert], kind: str | None = None) -> list[tuple[str, str, bool]]:
    return [(a.kind, a.source, a.is_open) for a in alerts if kind in (None, a.kind)]


def only(alerts: list[MonitoringAlert], kind: str) -> list[MonitoringAlert]:
    return [a for a in alerts if a.kind == kind]


def test_a_source_that_stops_goes_stale_once_and_resolves_once_when_it_returns() -> None:
    m = Monitor(MonitorConfig(stale_factor=5, stale_min_ms=1_000), started_ms=T0)
    for i in range(20):  # binance every 100 ms, kraken every 500 ms → learned intervals
        m.message(Message("binance", T0 + i * 100))
        if i % 5 == 0:
            m.message(Message("kraken", T0 + i * 100))
    assert m.evaluate(T0 + 2_000) == []
    # binance goes on; kraken stops after T0 + 1500: stale after 5 × 500 ms
    for i in range(20, 60):
        m.message(Message("binance", T0 + i * 100))
    opened = m.evaluate(T0 + 4_100)
    assert kinds(opened) == [("stale_source", "kraken", True)]
    alert = opened[0]
    assert alert.figures is not None and alert.figures["expected_interval_ms"] == 500
    assert alert.alert_id == message_id_for(
        "monitoring-alert", "stale_source", "kraken", T0 + 4_100
    )
    assert m.evaluate(T0 + 5_000) == []  # open once, not at every evaluation
    m.message(Message("kraken", T0 + 6_000))
    for i in range(60, 61):
        m.message(Message("binance", T0 + i * 100))
    resolved = m.evaluate(T0 + 6_050)
    assert kinds(resolved) == [("stale_source", "kraken", False)]
    assert resolved[0].alert_id == alert.alert_id and resolved[0].resolved_at_ms == T0 + 6_050
    assert m.evaluate(T0 + 6_100) == [] and m.open_alerts == []
    # the outage's 4.5 s gap was not learned as an interval
    assert m._sources["kraken"].interval_ms == 500


def test_configured_interval_wins_and_the_floor_holds() -> None:
    config = MonitorConfig(stale_factor=2, stale_min_ms=1_000, expected_interval_ms={"x": 3_000})
    m = Monitor(config, started_ms=T0)
    m.message(Message("x", T0))
    m.message(Message("y", T0))
    m.message(Message("y", T0 + 100))  # learned 100 ms: the floor applies
    m.message(Message("z", T0))  # one message: no interval to judge it by
    assert kinds(m.evaluate(T0 + 1_500)) == [("stale_source", "y", True)]
    assert kinds(m.evaluate(T0 + 6_001)) == [("stale_source", "x", True)]


def test_failure_rate_opens_with_enough_messages_and_resolves_below_the_lower_level() -> None:
    config = MonitorConfig(failure_window_ms=10_000, failure_min_messages=10,
                           failure_rate_open=0.3, failure_rate_close=0.1)  # fmt: skip
    m = Monitor(config, started_ms=T0)
    for i in range(8):
        m.message(Message("coinbase", T0 + i))
    for i in range(4):
        m.failure(Failure("coinbase", "outlier" if i else "crossed_quote", T0 + 10 + i))
    opened = m.evaluate(T0 + 100)
    assert kinds(opened) == [("failure_rate", "coinbase", True)]
    figures = opened[0].figures or {}
    assert figures["rate"] == pytest.approx(4 / 12)
    assert figures["rate.outlier"] == pytest.approx(3 / 12)
    assert "mostly outlier (3)" in opened[0].detail
    assert m.failure_rates(T0 + 100)["coinbase"]["crossed_quote"] == pytest.approx(1 / 12)
    # 20 % is between the levels: stays open, no flapping
    for i in range(8):
        m.message(Message("coinbase", T0 + 200 + i))
    assert m.evaluate(T0 + 300) == []
    # the window slides past the burst: resolves
    for i in range(10):
        m.message(Message("coinbase", T0 + 11_000 + i))
    assert kinds(m.evaluate(T0 + 11_100)) == [("failure_rate", "coinbase", False)]


def test_too_few_messages_open_nothing() -> None:
    m = Monitor(MonitorConfig(failure_min_messages=20), started_ms=T0)
    for i in range(5):
        m.failure(Failure("kraken", "outlier", T0 + i))
    assert [a for a in m.evaluate(T0 + 10) if a.kind == "failure_rate"] == []


def test_price_deviation_per_pair_with_hysteresis() -> None:
    config = MonitorConfig(deviation_open_bps=100, deviation_close_bps=30, deviation_stale_ms=5_000)
    m = Monitor(config, started_ms=T0)
    for venue, price in [("binance", 100.0), ("coinbase", 100.1), ("kraken", 103.0)]:
        m.message(Message(venue, T0, "ETH-USDC", price))
    opened = m.evaluate(T0 + 10)
    assert kinds(opened) == [("price_deviation", "ETH-USDC", True)]
    assert "kraken at 103" in opened[0].detail
    assert (opened[0].figures or {})["deviation_bps"] == pytest.approx(289.71, abs=0.01)
    m.message(Message("kraken", T0 + 100, "ETH-USDC", 100.5))  # 40 bps: between the levels
    assert m.evaluate(T0 + 200) == []
    m.message(Message("kraken", T0 + 300, "ETH-USDC", 100.2))
    assert kinds(m.evaluate(T0 + 400)) == [("price_deviation", "ETH-USDC", False)]
    # stale venues do not count: one fresh venue is nothing to compare
    m.message(Message("kraken", T0 + 9_000, "ETH-USDC", 150.0))
    assert only(m.evaluate(T0 + 9_100), "price_deviation") == []


def test_venue_deviations_is_the_quality_checks_definition() -> None:
    prices = {"binance": 100.0, "coinbase": 101.0, "kraken": 99.5}
    median, bps = venue_deviations(prices) or (0.0, {})
    frame = pd.DataFrame(
        [{"minute": 0, "pair": "P", "exchange": v, "price": p} for v, p in prices.items()]
    )
    batch = deviations(frame).set_index("exchange")
    assert median == batch["median"].iloc[0]
    assert bps == pytest.approx(batch["deviation_bps"].to_dict())
    assert venue_deviations({"binance": 1.0}) is None


def test_missing_configured_source_and_long_silence() -> None:
    config = MonitorConfig(sources=("okx",), missing_after_ms=10_000, stale_min_ms=1_000)
    m = Monitor(config, started_ms=T0)
    m.message(Message("binance", T0))
    assert [a for a in m.evaluate(T0 + 5_000) if a.kind == "missing_source"] == []
    got = m.evaluate(T0 + 10_000)
    assert kinds(got) == [("missing_source", "binance", True), ("missing_source", "okx", True)]
    assert all(a.severity == "critical" for a in got)
    m.message(Message("okx", T0 + 11_000))
    assert kinds(m.evaluate(T0 + 11_001)) == [("missing_source", "okx", False)]


def test_restored_open_alerts_resolve_instead_of_opening_again() -> None:
    first = Monitor(MonitorConfig(stale_min_ms=1_000), started_ms=T0)
    first.message(Message("kraken", T0 - 100))
    first.message(Message("kraken", T0))
    [alert] = first.evaluate(T0 + 2_000)
    second = Monitor(MonitorConfig(stale_min_ms=1_000), started_ms=T0 + 3_000)
    second.restore([alert])
    second.message(Message("kraken", T0 + 3_500))
    assert second.evaluate(T0 + 4_000) == []  # not opened again: it was open already
    second.message(Message("kraken", T0 + 4_000))
    assert [a.alert_id for a in second.evaluate(T0 + 4_100)] == [alert.alert_id]


def test_alerts_on_the_wire_and_the_latest_per_id() -> None:
    m = Monitor(MonitorConfig(stale_min_ms=1_000), started_ms=T0)
    for at in (T0 - 100, T0):
        m.message(Message("kraken", at))
        m.message(Message("binance", at))
    opened = m.evaluate(T0 + 2_000)
    m.message(Message("kraken", T0 + 2_100))
    resolved = m.evaluate(T0 + 2_200)
    values = [envelope_bytes(a) for a in opened + resolved] + [b"junk", None]
    assert [a.source for a in still_open(values)] == ["binance"]
    assert len(latest(values)) == 2
    assert subject(opened[0]) == "monitoring.alerts.stale_source"
    assert envelope_bytes(opened[0]) == envelope_bytes(opened[0])  # deterministic


def test_records_read_sources_from_messages_and_dead_letters() -> None:
    quote = new_envelope(PriceUpdate(exchange="Binance", pair="ETH-USDC", price=2847.5),
                         source="ccxt", event_time_ms=T0, received_time_ms=T0 + 5)  # fmt: skip
    assert records.message(encode(quote)) == Message("binance", T0 + 5, "ETH-USDC", 2847.5)
    pool = YieldRate(protocol="aave-v3", pool="usdc", asset="USDC", chain="ethereum", apy=4.1)
    rate = new_envelope(pool, source="rpc", event_time_ms=T0, received_time_ms=T0)
    assert records.message(encode(rate)) == Message("aave-v3", T0)
    vote = new_envelope(SAMPLES["governance_event"], source="rpc", event_time_ms=T0,
                        received_time_ms=T0)  # fmt: skip
    assert records.message(encode(vote)) == Message("compound", T0, periodic=False)
    assert records.message(b"{not json") is None
    letter = deadletter.DeadLetter(
        reason="outlier", detail="", source_topic="market.prices.kraken.eth-usdc",
        source_partition=0, source_offset=1, source_timestamp_ms=T0,
        dead_lettered_at_ms=T0 + 1, original_base64=b"x",
    )  # fmt: skip
    assert records.failure(deadletter.encode(letter)) == Failure("kraken", "outlier", T0 + 1)
    late = msgspec.structs.replace(letter, source_topic="market.prices.all")
    assert records.failure(deadletter.encode(late)) is None
    assert records.failure(b"[]") is None


def test_config_names_what_is_wrong() -> None:
    assert monitor_config({"stale_factor": 3}).stale_factor == 3
    with pytest.raises(ValueError, match="unknown monitor config"):
        monitor_config({"stale": 3})
    with pytest.raises(ValueError, match="failure_rate_close"):
        monitor_config({"failure_rate_open": 0.05})
    with pytest.raises(ValueError, match="expected_interval_ms"):
        monitor_config({"expected_interval_ms": {"kraken": 0}})


def test_a_failure_rate_alert_needs_evidence_to_resolve() -> None:
    config = MonitorConfig(failure_window_ms=5_000, failure_min_messages=10)
    m = Monitor(config, started_ms=T0)
    for i in range(10):
        m.failure(Failure("kraken", "outlier", T0 + i))
    assert kinds(m.evaluate(T0 + 100), "failure_rate") == [("failure_rate", "kraken", True)]
    m.message(Message("kraken", T0 + 6_000))  # the burst left the window; one message is no proof
    assert kinds(m.evaluate(T0 + 6_100), "failure_rate") == []
    assert [a.kind for a in m.open_alerts] == ["failure_rate"]


def test_event_driven_kinds_and_unexpected_sources_say_nothing_about_freshness() -> None:
    config = MonitorConfig(stale_min_ms=1_000, missing_after_ms=5_000)
    m = Monitor(config, started_ms=T0)
    for at in (T0, T0 + 100):  # liquidations of a protocol: silence is normal
        m.message(Message("aave-v3", at, periodic=False))
    m.failure(Failure("okx", "undecodable", T0))  # known only by a failure
    assert m.evaluate(T0 + 60_000) == []


def test_a_slow_source_goes_missing_only_well_after_it_went_stale() -> None:
    config = MonitorConfig(stale_factor=2, stale_min_ms=1_000, missing_after_ms=5_000)
    m = Monitor(config, started_ms=T0)
    for i in range(3):
        m.message(Message("curve", T0 + i * 10_000))  # every 10 s: stale after 20 s
    last = T0 + 20_000
    assert m.evaluate(last + 19_000) == []
    assert kinds(m.evaluate(last + 21_000)) == [("stale_source", "curve", True)]
    assert kinds(m.evaluate(last + 40_000)) == [("missing_source", "curve", True)]


def test_freshness_waits_for_the_catch_up_and_then_judges_by_the_backlogs_newest_record() -> None:
    """A monitor restarted after an hour reads old records: no source is stale (nor missing)
    while it catches up; once it has, a source whose backlog runs up to now is fresh, one
    that stopped long ago is stale and missing. The figures follow."""
    hour = 3_600_000
    now = T0 + hour
    config = MonitorConfig(stale_factor=5, stale_min_ms=1_000, sources=("binance", "kraken"))
    m = Monitor(config, started_ms=now, caught_up=False)
    for i in range(100):  # the backlog's first part: both venues an hour ago
        m.message(Message("binance", T0 + i * 100))
        m.message(Message("kraken", T0 + i * 100))
    assert m.evaluate(now - 10_000) == []  # an hour and more than missing_after_ms of silence
    assert not m.figures(now).caught_up
    for i in range(100):  # binance's records up to now; kraken has sent nothing since
        m.message(Message("binance", now - 10_000 + i * 100))
    m.caught_up = True
    assert kinds(m.evaluate(now + 50)) == [
        ("missing_source", "kraken", True),
        ("stale_source", "kraken", True),
    ]
    figures = m.figures(now + 50)
    assert figures.caught_up and figures.newest_ms == {
        "binance": now - 10_000 + 9_900,
        "kraken": T0 + 9_900,
    }
    assert figures.open_alerts == {("missing_source", "kraken"): 1, ("stale_source", "kraken"): 1}


def test_figures_carry_failure_rates_per_source_and_reason() -> None:
    m = Monitor(MonitorConfig(), started_ms=T0)
    for i in range(6):
        m.message(Message("binance", T0 + i))
    for reason in ("outlier", "outlier", "crossed_quote", "outlier"):
        m.failure(Failure("binance", reason, T0 + 10))
    assert m.figures(T0 + 20).failure_rates == {
        ("binance", "rate"): 0.4,
        ("binance", "crossed_quote"): 0.1,
        ("binance", "outlier"): 0.3,
    }
