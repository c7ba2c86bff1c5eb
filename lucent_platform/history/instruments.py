"""Instrument keys of the backfill partitions: ``exchange:pair``, e.g. ``binance:BTC-USDT``.

One key per instrument the streams carry. The exchange is our venue id (lower-case, as in
envelopes and topic names) and the pair our canonical ``BASE-QUOTE`` (``connectors.pairs``), so
neither part can hold ``:`` and a key splits back unambiguously. Dagster refuses partition keys
holding ``|`` ``,`` ``[`` ``]`` (a multi-partition key is ``2025-11-10|binance:BTC-USDT``), ``...``
or control characters: the two patterns below allow none of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

EXCHANGE_PATTERN = re.compile(r"[a-z0-9]+")
PAIR_PATTERN = re.compile(r"[A-Z0-9]+-[A-Z0-9]+")
SEPARATOR = ":"


class InstrumentKeyError(ValueError):
    """Not an ``exchange:PAIR`` instrument key."""


@dataclass(frozen=True, order=True)
class InstrumentKey:
    exchange: str
    pair: str

    @property
    def key(self) -> str:
        """The partition key: ``binance:BTC-USDT``."""
        return f"{self.exchange}{SEPARATOR}{self.pair}"

    @property
    def symbol(self) -> str:
        """ccxt's unified spot symbol: ``BTC/USDT``."""
        return self.pair.replace("-", "/")


def instrument_key(exchange: str, pair: str) -> InstrumentKey:
    """Validated instrument; raises ``InstrumentKeyError`` naming what is wrong."""
    if not isinstance(exchange, str) or not EXCHANGE_PATTERN.fullmatch(exchange):
        raise InstrumentKeyError(f"exchange {exchange!r} is not a lower-case [a-z0-9]+ venue id")
    if not isinstance(pair, str) or not PAIR_PATTERN.fullmatch(pair):
        raise InstrumentKeyError(f"pair {pair!r} is not a canonical BASE-QUOTE pair")
    return InstrumentKey(exchange, pair)


def parse_instrument_key(key: str) -> InstrumentKey:
    """``"binance:BTC-USDT"`` → ``InstrumentKey("binance", "BTC-USDT")``."""
    exchange, separator, pair = key.partition(SEPARATOR)
    if not separator:
        raise InstrumentKeyError(f"instrument key {key!r} is not exchange:PAIR")
    return instrument_key(exchange, pair)


def new_instruments(
    seen: Iterable[tuple[str, str]], known: Iterable[str], exchanges: frozenset[str]
) -> list[InstrumentKey]:
    """Instruments ``seen`` on the streams (exchange, pair) that are not ``known`` partition
    keys yet, limited to ``exchanges`` we can backfill; sorted, each once. Rows whose exchange
    or pair is not a valid key part (a simulator venue with odd characters) are skipped."""
    have = set(known)
    found: set[InstrumentKey] = set()
    for exchange, pair in seen:
        if exchange not in exchanges:
            continue
        try:
            instrument = instrument_key(exchange, pair)
        except InstrumentKeyError:
            continue
        if instrument.key not in have:
            found.add(instrument)
    return sorted(found)
