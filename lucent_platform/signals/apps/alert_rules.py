"""Users' price alert rules: what a rule is on ``user.alert-rules``, and their validation.

A rule is a compacted-topic record, key = rule id, value = JSON (a tombstone deletes it)::

    {"userId": "u-7", "pair": "ETH-USDC", "exchange": "binance", "type": "above", "level": 2800.0}
    {"userId": "u-7", "pair": "BTC-USDT", "type": "move", "level": 5.0, "windowMs": 600000}
    {"userId": "u-9", "pair": "ETH-USDT", "type": "spread", "level": 25.0}

``level`` is in the type's unit: a quote-currency price for ``above``/``below``, percent for
``move`` (within ``windowMs``, either direction), basis points for ``spread`` (best bid across
venues over best ask across venues). ``exchange`` limits ``above``/``below``/``move`` to one
venue; without it any venue counts. A rule id (the record key) is opaque printable text,
only ever a key and a value, never part of a topic name or a query. A user id is letters,
digits, ``-`` and ``_``: it names the user's NATS subject ``notify.user.{id}``, where a dot or
a wildcard would widen a subscription (``subjects.token``), so it is refused here, where the
user still sees why, rather than when the alert is announced.
"""

from __future__ import annotations

import math
import re
from typing import Literal

import msgspec

from lucent_platform.connectors.pairs import normalize_pair
from lucent_platform.subjects import SubjectTokenError, token

RuleType = Literal["above", "below", "move", "spread"]
RULE_TYPES: tuple[str, ...] = ("above", "below", "move", "spread")
MAX_TEXT = 200  # longest rule id / user id
MAX_WINDOW_MS = 24 * 3600 * 1000
_EXCHANGE = re.compile(r"[a-z0-9][a-z0-9._-]*")  # the processor's canonical venue ids


class Rule(msgspec.Struct, rename="camel", frozen=True, forbid_unknown_fields=True):
    user_id: str
    pair: str
    type: RuleType
    level: float
    exchange: str | None = None
    window_ms: int | None = None


_decode = msgspec.json.Decoder(Rule).decode
_encode = msgspec.json.Encoder().encode


def make_rule(
    *,
    user_id: str,
    pair: str,
    type: str,
    level: float,
    exchange: str | None = None,
    window_ms: int | None = None,
) -> Rule:
    """A valid rule with canonical names; ``ValueError`` saying what is wrong otherwise."""
    check_text("user id", user_id)
    try:
        if token(user_id) != user_id:  # "a b" or "a/b" would be announced as "a-b"
            raise SubjectTokenError(f"{user_id!r} is not one NATS subject token")
    except SubjectTokenError:
        raise ValueError(
            f"user id {_shown(user_id)}: use letters, digits, '-' or '_' (it names the NATS "
            "subject notify.user.{id})"
        ) from None
    check_text("pair", pair)
    try:
        canonical_pair = normalize_pair(pair)
    except ValueError as exc:
        raise ValueError(f"pair: {exc}") from None
    if type not in RULE_TYPES:
        raise ValueError(f"rule type {_shown(type)}: use one of {', '.join(RULE_TYPES)}")
    if isinstance(level, bool) or not isinstance(level, int | float) or not math.isfinite(level):
        raise ValueError(f"level {level!r} is not a finite number")
    if level <= 0:
        raise ValueError(f"level {level!r} must be positive")
    venue = None
    if exchange is not None:
        venue = exchange.strip().lower()
        if not _EXCHANGE.fullmatch(venue) or len(venue) > MAX_TEXT:
            raise ValueError(f"exchange {_shown(exchange)} is not a venue id ([a-z0-9._-])")
        if type == "spread":
            raise ValueError("a spread rule compares every venue: it takes no exchange")
    if type == "move":
        if window_ms is None:
            raise ValueError("a move rule needs a period (windowMs / --within)")
        if not 0 < window_ms <= MAX_WINDOW_MS:
            raise ValueError(f"period {window_ms} ms must be within 1 ms..24 h")
    elif window_ms is not None:
        raise ValueError(f"only a move rule has a period, not {type!r}")
    return Rule(
        user_id=user_id, pair=canonical_pair, type=type,  # type: ignore[arg-type]
        level=float(level), exchange=venue, window_ms=window_ms,
    )  # fmt: skip


def _shown(value: object) -> str:
    """``value`` as an error message quotes it: a hostile 10 MB field is not echoed whole."""
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:80]}… ({len(text)} chars)"


def check_text(what: str, value: str) -> None:
    if not value or not value.strip():
        raise ValueError(f"{what} is empty")
    if len(value) > MAX_TEXT:
        raise ValueError(f"{what} is longer than {MAX_TEXT} characters")
    if not value.isprintable():
        raise ValueError(f"{what} {_shown(value)} contains control or format characters")


def parse_rule_id(key: bytes) -> str:
    """A rule id from its record key: UTF-8, checked as ``check_text`` checks; ``ValueError``."""
    try:
        text = key.decode()
    except UnicodeDecodeError:
        raise ValueError(f"rule id {key[:60]!r} is not UTF-8") from None
    check_text("rule id", text)
    return text


def parse_rule(value: bytes) -> Rule:
    """A rule from its record value, validated as ``make_rule`` validates; ``ValueError``."""
    try:
        raw = _decode(value)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        text = str(exc)  # msgspec quotes the bad value: cut a hostile 10 MB one
        raise ValueError(f"not a rule: {text if len(text) <= 300 else text[:300] + '…'}") from None
    return make_rule(
        user_id=raw.user_id, pair=raw.pair, type=raw.type, level=raw.level,
        exchange=raw.exchange, window_ms=raw.window_ms,
    )  # fmt: skip


def encode_rule(rule: Rule) -> bytes:
    return _encode(rule)


def describe(rule: Rule) -> str:
    """The rule in words, as ``lucent alerts list`` shows it."""
    where = f" on {rule.exchange}" if rule.exchange else ""
    if rule.type == "move":
        return f"{rule.pair}{where} moves {rule.level:g} % within {rule.window_ms} ms"
    if rule.type == "spread":
        return f"{rule.pair} cross-venue spread above {rule.level:g} bps"
    return f"{rule.pair}{where} {rule.type} {rule.level:g}"
