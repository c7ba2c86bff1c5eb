"""The alert engine's pure logic: scripted prices and rules → exactly the expected alerts."""

from __future__ import annotations

import msgspec
import pytest

from lucent_platform.processing.pipeline import InRecord
from lucent_platform.signals.apps.alert_rules import make_rule, parse_rule
from lucent_platform.signals.apps.alerts import AlertEngine, AlertsConfig, alerts_config
from tests.alert_data import alerts, quote, quote_id, rule

PRICES, RULES = "prices", "rules"


class Script:
    """An engine fed rule changes and quotes in one partition, keeping every alert."""

    def __init__(self, stale_ms: int = 30_000) -> None:
        self.engine = AlertEngine(
            AlertsConfig(stale_ms=stale_ms), clock_ms=lambda: 0, out_topic="out",
            rules_topic=RULES,
        )  # fmt: skip
        self.engine.assigned([(PRICES, 0)])
        self.offset = 0
        self.out: list[bytes] = []

    def rule(self, rule_id: str, value: bytes | None) -> None:
        self.engine.rules.apply([InRecord(RULES, 0, 0, 0, rule_id.encode(), value)])

    def quotes(self, *values: bytes) -> list[tuple[str, str, str, float, str]]:
        batch = []
        for v in values:
            batch.append(InRecord(PRICES, 0, self.offset, 0, b"ETH-USDC", v))
            self.offset += 1
        result = self.engine.process(batch)
        self.out += [o.value for o in result.outputs]
        return alerts([o.value for o in result.outputs])


def test_above_fires_once_per_crossing_and_rearms_after_falling_back() -> None:
    s = Script()
    s.rule("r1", rule(user_id="u1", pair="eth/usdc", type="above", level=2800))
    assert s.quotes(quote(0, 2790)) == []  # establishes "below", no alert
    assert s.quotes(quote(1, 2801)) == [("r1", "u1", "binance", 2801, quote_id(1))]
    assert s.quotes(quote(2, 2850), quote(3, 2805), quote(4, 2800)) == []  # stays above
    assert s.quotes(quote(5, 2799.99)) == []  # falls back: armed again
    assert s.quotes(quote(6, 2800)) == [("r1", "u1", "binance", 2800, quote_id(6))]
    envelope = msgspec.json.decode(s.out[-1])
    assert envelope["data"]["ruleType"] == "above" and envelope["data"]["level"] == 2800
    assert envelope["header"]["correlationId"] == quote_id(6)
    assert envelope["metadata"]["latencyMs"] == 0 - (envelope["header"]["receivedTimeMs"])


def test_rule_created_beyond_its_level_waits_for_a_crossing() -> None:
    s = Script()
    s.rule("r1", rule(user_id="u1", pair="ETH-USDC", type="below", level=2000))
    assert s.quotes(quote(0, 1990), quote(1, 1980)) == []
    assert s.quotes(quote(2, 2001), quote(3, 1999)) == [("r1", "u1", "binance", 1999, quote_id(3))]


def test_tombstone_stops_a_rule_and_a_new_rule_fires_on_the_next_crossing() -> None:
    s = Script()
    s.rule("r1", rule(user_id="u1", pair="ETH-USDC", type="above", level=2800))
    s.quotes(quote(0, 2700))
    s.rule("r1", None)
    assert s.quotes(quote(1, 2900)) == []
    s.rule("r2", rule(user_id="u2", pair="ETH-USDC", type="above", level=3000))
    assert s.quotes(quote(2, 2950), quote(3, 3001)) == [("r2", "u2", "binance", 3001, quote_id(3))]
    s.rule("r2", b"{not json")  # rejected like a tombstone: the rule is gone
    assert s.quotes(quote(4, 2000), quote(5, 3100)) == []


def test_exchange_rule_ignores_other_venues_and_any_venue_rule_uses_fresh_ones() -> None:
    s = Script(stale_ms=5000)
    s.rule("only-kraken", rule(user_id="u", pair="ETH-USDC", type="above", level=100,
                               exchange="Kraken"))  # fmt: skip
    s.rule("any", rule(user_id="v", pair="ETH-USDC", type="above", level=100))
    assert s.quotes(quote(0, 90, exchange="kraken"), quote(1, 90)) == []
    assert s.quotes(quote(2, 101)) == [("any", "v", "binance", 101, quote_id(2))]
    # kraken still below; binance above: "any" stays fired while a fresh venue is above
    assert s.quotes(quote(3, 95, exchange="kraken")) == []
    assert s.quotes(quote(4, 102, exchange="kraken")) == [
        ("only-kraken", "u", "kraken", 102, quote_id(4, "kraken"))
    ]
    # binance's 101 goes stale (> 5 s), kraken falls: "any" re-arms, then fires again
    assert s.quotes(quote(9, 99, exchange="kraken")) == []
    assert s.quotes(quote(10, 100, exchange="kraken")) == [  # rules in id order
        ("any", "v", "kraken", 100, quote_id(10, "kraken")),
        ("only-kraken", "u", "kraken", 100, quote_id(10, "kraken")),
    ]


def test_move_within_a_rolling_period() -> None:
    s = Script()
    s.rule("m", rule(user_id="u", pair="ETH-USDC", type="move", level=5, window_ms=10_000))
    assert s.quotes(quote(0, 100), quote(5, 103)) == []
    assert s.quotes(quote(8, 105.5)) == [("m", "u", "binance", 105.5, quote_id(8))]  # +5.5 %
    assert s.quotes(quote(9, 106)) == []  # still moved: no second alert
    # 100 left the window at t=10 s: lowest now 103, 106 is +2.9 %: condition false
    assert s.quotes(quote(12, 106)) == []
    # down 5 % from the window's high (106) → fires again
    assert s.quotes(quote(13, 100.5)) == [("m", "u", "binance", 100.5, quote_id(13))]
    data = msgspec.json.decode(s.out[-1])["data"]
    assert data["direction"] == "below" and data["referencePrice"] == 106
    assert data["value"] == pytest.approx(-5.188679, abs=1e-5) and data["windowMs"] == 10_000


def test_spread_best_bid_across_venues_over_best_ask() -> None:
    s = Script()
    s.rule("s", rule(user_id="u", pair="ETH-USDC", type="spread", level=20))
    q = [
        quote(0, 100, exchange="binance", bid=99.99, ask=100.01),
        quote(1, 100, exchange="kraken", bid=100.1, ask=100.12),  # 100.1 vs 100.01: 9 bps
        quote(2, 100.2, exchange="coinbase", bid=100.25, ask=100.3),  # 24 bps over binance
    ]
    assert s.quotes(q[0], q[1]) == []
    assert s.quotes(q[2]) == [("s", "u", "coinbase", 100.25, quote_id(2, "coinbase"))]
    data = msgspec.json.decode(s.out[-1])["data"]
    assert data["referenceExchange"] == "binance" and data["referencePrice"] == 100.01
    assert data["value"] == pytest.approx(23.9976, abs=1e-3)
    closes = quote(3, 100.05, exchange="coinbase", bid=100.04, ask=100.06)
    assert s.quotes(closes) == []
    assert len(s.quotes(quote(4, 100.3, exchange="coinbase", bid=100.3, ask=100.32))) == 1


def test_alert_ids_are_deterministic_and_a_replay_gives_the_same_output() -> None:
    script = [quote(i, p) for i, p in enumerate([10, 12, 9, 12, 13, 8, 12])]
    runs = []
    for _ in range(2):
        s = Script()
        s.rule("r", rule(user_id="u", pair="ETH-USDC", type="above", level=11))
        s.quotes(*script)
        runs.append([msgspec.json.decode(v)["header"]["messageId"] for v in s.out])
    assert runs[0] == runs[1] and len(runs[0]) == 3


def test_rule_validation_says_what_is_wrong() -> None:
    good = make_rule(user_id="u_7-Ab", pair="btc/usdt", type="above", level=1)
    assert good.pair == "BTC-USDT" and good.user_id == "u_7-Ab"
    for kwargs, words in [
        ({"level": float("nan")}, "finite"),
        ({"level": -1}, "positive"),
        ({"pair": "ETH-USDC.all"}, "pair"),
        ({"type": "sideways"}, "rule type"),
        ({"exchange": "bin ance"}, "venue"),
        ({"type": "move"}, "period"),
        ({"type": "spread", "exchange": "binance"}, "no exchange"),
        ({"user_id": ""}, "empty"),
        ({"user_id": "u'); DROP TABLE x;--"}, "notify.user"),  # a NATS subject token
        ({"user_id": "u.>"}, "notify.user"),
    ]:
        fields = {"user_id": "u", "pair": "ETH-USDC", "type": "above", "level": 1.0, **kwargs}
        with pytest.raises(ValueError, match=words):
            make_rule(**fields)
    with pytest.raises(ValueError, match="not a rule"):
        parse_rule(b'{"userId": "u", "pair": "ETH-USDC", "type": "above", "level": 1, "x": 1}')


def test_alerts_config() -> None:
    assert alerts_config({"stale_ms": 5000}).stale_ms == 5000
    with pytest.raises(ValueError, match="unknown"):
        alerts_config({"stale": 1})
    with pytest.raises(ValueError, match="positive"):
        alerts_config({"stale_ms": 0})


def test_rebuild_from_the_checkpoint_at_every_cut_gives_the_uninterrupted_output() -> None:
    """A restart after any record: restore the checkpoint's mark, warm with the records from
    its start up to the cut, go on live — the alerts are exactly the uninterrupted run's."""
    prices = [100, 103, 99, 104.5, 98, 101, 106, 97, 103, 108, 99, 101.5]
    venues = ["binance", "kraken", "coinbase"]
    values = []
    for i, p in enumerate(prices * 2):
        venue = venues[i % 3]
        values.append(quote(i, p + i % 3, exchange=venue, bid=p - 0.1, ask=p + 0.1 + i % 2))
    records = [InRecord(PRICES, 0, i, 0, b"ETH-USDC", v) for i, v in enumerate(values)]
    rules = {
        "a": rule(user_id="u", pair="ETH-USDC", type="above", level=103),
        "b": rule(user_id="u", pair="ETH-USDC", type="below", level=99, exchange="kraken"),
        "m": rule(user_id="u", pair="ETH-USDC", type="move", level=4, window_ms=4000),
        "s": rule(user_id="u", pair="ETH-USDC", type="spread", level=50),
    }

    def engine() -> Script:
        s = Script(stale_ms=3000)
        for rule_id, value in rules.items():
            s.rule(rule_id, value)
        return s

    whole = engine()
    reference = [o.value for o in whole.engine.process(records).outputs]
    assert len(reference) >= 5 and len({json_rule(v) for v in reference}) == 4
    for cut in range(1, len(records)):
        before, after = engine(), engine()
        out = [o.value for o in before.engine.process(records[:cut]).outputs]
        mark = before.engine.checkpoint((PRICES, 0))
        assert mark is not None and mark.start is not None
        after.engine.restore((PRICES, 0), mark)
        after.engine.warm(records[mark.start : cut])
        out += [o.value for o in after.engine.process(records[cut:]).outputs]
        assert out == reference, cut


def json_rule(value: bytes) -> str:
    rule_id: str = msgspec.json.decode(value)["data"]["ruleId"]
    return rule_id
