"""Hostile alert rules (``user.alert-rules``): the corpus's rule records and keys through the
rules table and the alert engine, and an alert for a user id that is no subject token through
the domain handler. Rejected with a reason, counted, never raised; no rule text reaches a topic
or subject name."""

from __future__ import annotations

import re

import pytest

from lucent_platform.adapters import kafka
from lucent_platform.config import Settings
from lucent_platform.domain.bridge import command_for
from lucent_platform.domain.handling import CommandInvalid, signal_event
from lucent_platform.processing.pipeline import InRecord
from lucent_platform.signals.apps.alert_rules import parse_rule, parse_rule_id
from lucent_platform.topics import USER_ALERTS
from tests.alert_data import quote, quote_id, rule
from tests.domain_flow import alert_signal
from tests.fixtures.hostile import TEXTS, Case, json_text, rules
from tests.test_alerts_engine import PRICES, RULES, Script
from tests.test_alerts_worker import Topics

CASES = list(rules())


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_every_hostile_rule_is_rejected_with_a_reason(case: Case) -> None:
    if case.expect == "accepted":  # canonical names only, whatever came in
        accepted = parse_rule(case.value)
        assert re.fullmatch(r"[A-Z0-9]+-[A-Z0-9]+", accepted.pair)
        assert re.fullmatch(r"[A-Za-z0-9_-]+", accepted.user_id)
        return
    with pytest.raises(ValueError) as caught:
        parse_rule(case.value)
    assert str(caught.value) and len(str(caught.value)) < 2_000  # a 10 MB id is not echoed


@pytest.mark.parametrize("name", sorted(TEXTS))
def test_a_hostile_rule_id_is_rejected_unless_it_is_printable_text(name: str) -> None:
    text = TEXTS[name]
    key = text.encode("utf-8", "surrogatepass")
    printable = 0 < len(text) <= 200 and text.isprintable() and not text.isspace()
    if printable:
        assert parse_rule_id(key) == text
    else:
        with pytest.raises(ValueError, match="rule id"):
            parse_rule_id(key)


def test_the_engine_survives_every_hostile_rule_and_writes_only_to_its_topic() -> None:
    """Every corpus rule value under a valid key and every hostile key under a valid rule, on
    the rules table, then prices that cross a valid rule's level: no exception, each bad record
    counted as rejected, the valid rule still fires, and the only topic written is the
    engine's output topic keyed by the valid user id."""
    s = Script()
    for n, case in enumerate(CASES):
        s.rule(f"r-{n}", case.value)
    for text in TEXTS.values():
        s.engine.rules.apply([InRecord(RULES, 0, 0, 0, text.encode("utf-8", "surrogatepass"),
                                       rule(user_id="u-ok", pair="ETH-USDC", type="above",
                                            level=2800))])  # fmt: skip
    valid = rule(user_id="u", pair="ETH-USDC", type="above", level=2800)
    s.engine.rules.apply([InRecord(RULES, 0, 0, 0, b"\xff\xfe", valid)])  # not UTF-8
    s.rule("good", json_text({"userId": "u-7", "pair": "ETH-USDC", "type": "above",
                              "level": 2800.0}))  # fmt: skip
    hostile_keys = sum(1 for t in TEXTS.values() if not (0 < len(t) <= 200 and t.isprintable()
                                                         and not t.isspace()))  # fmt: skip
    rejected = sum(1 for c in CASES if c.expect == "rejected")  # the accepted: under r-{n}
    assert s.engine.rules.rejected == rejected + hostile_keys + 1
    s.quotes(quote(0, 2700))
    batch = [InRecord(PRICES, 0, 99, 0, b"ETH-USDC", quote(1, 2900))]
    outputs = s.engine.process(batch).outputs
    assert outputs and {o.topic for o in outputs} == {"out"}
    assert b"u-7" in {o.key for o in outputs}


def test_an_alert_for_a_user_id_that_is_no_subject_token_is_an_invalid_command() -> None:
    """A price alert made before user ids were checked (or produced by hand) reaches the domain
    handler: refused as an invalid command (terminated, counted as malformed), never an error
    when its notify.user.{id} subject is built after the event was appended."""
    value, _ = alert_signal("u.>")
    command = command_for(USER_ALERTS, 0, 0, value, 0)
    with pytest.raises(CommandInvalid, match="subject token"):
        signal_event(command)


def test_a_real_alerts_worker_goes_on_through_the_hostile_rules_topic(
    kafka_bootstrap: str, settings: Settings, unique: str
) -> None:
    """The whole rule corpus (its 10 MB user id through a producer whose limit lets it by) and
    every hostile key on the rules topic of a running `lucent worker alerts`, then prices
    crossing the one valid rule's level: the worker keeps running and fires that rule, on its
    output topic only."""
    t = Topics(settings, kafka_bootstrap, unique)
    big = kafka.producer(settings, kafka_bootstrap, **{"message.max.bytes": 20_000_000})
    for n, case in enumerate(CASES):
        big.produce(t.rules, case.value, f"r-{n}".encode())
    for text in TEXTS.values():
        big.produce(t.rules, rule(user_id="u-x", pair="ETH-USDC", type="above", level=100),
                    text.encode("utf-8", "surrogatepass") or b"\x00")  # fmt: skip
    big.produce(t.rules, rule(user_id="u-7", pair="ETH-USDC", type="above", level=100), b"good")
    assert big.flush(60) == 0
    t.write(t.prices, b"ETH-USDC", *(quote(i, p) for i, p in enumerate([95, 101])))
    stop, thread, done = t.start()
    try:
        got = t.wait_alerts(1 + _printable_keys())
    finally:
        stop.set()
        thread.join(20)
    assert done, "the worker did not return"
    assert ("good", "u-7", "binance", 101, quote_id(1)) in got
    assert {user for _, user, *_ in got} <= {"u-7", "u-x"}  # no hostile rule value fired
    assert {rule_id for rule_id, *_ in got} <= {"good", *TEXTS.values()}


def _printable_keys() -> int:
    return sum(1 for t in TEXTS.values() if 0 < len(t) <= 200 and t.isprintable()
               and not t.isspace())  # fmt: skip
