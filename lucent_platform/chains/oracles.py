"""Oracle rounds: Chainlink ``AnswerUpdated`` logs and ``latestRoundData`` returns, Band's
``getReferenceData`` returns → typed values (raw integers, no scaling guessed).

The recorded Chainlink YFI/ETH aggregator log (Ethereum block 11017338, log 259)::

    {"address": "0x4a03707a1bfefc2836a69b1a6a6bd752270041a9",
     "topics": ["0x0559884f…",  # AnswerUpdated(int256 indexed, uint256 indexed, uint256)
                "0x…0002a1f9025ee41e6d78",  # answer 48564850663303835000 (18 decimals: 48.5649 ETH)
                "0x…00a8"],                  # round 168
     "data": "0x…5f7f87c5",                  # updatedAt 1602193349 (2020-10-08T21:42:29Z)
     "blockNumber": "0xa81c7a", "logIndex": "0x103", "removed": false, …}

Band's ``StdReference.getReferenceData(base, quote)`` returns ``(rate, lastUpdatedBase,
lastUpdatedQuote)``: the rate is scaled by 1e18 and each time is in Unix seconds; the older
of the two times is the price's age.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from lucent_platform.chains.abi import ChainDecodeError, decode_words, event_topic, topic_int
from lucent_platform.chains.logs import CONFIDENCE, Log, wrap_log
from lucent_platform.chains.registry import feed_at
from lucent_platform.envelope import Envelope, message_id_for, new_envelope
from lucent_platform.messages import PriceUpdate

ANSWER_UPDATED = event_topic("AnswerUpdated(int256,uint256,uint256)")
BAND_DECIMALS = 18
_MAX_EPOCH_MS = 253_402_300_799_999  # 9999-12-31: an absurd updatedAt still makes an envelope


@dataclass(frozen=True, slots=True)
class OracleRound:
    """One oracle answer: ``answer`` is the raw integer; ``updated_at_s`` Unix seconds."""

    answer: int
    round_id: int
    updated_at_s: int

    def price(self, decimals: int) -> Decimal:
        """The answer in quote units (``decimals``: the feed's, 8 for X/USD, 18 for X/ETH)."""
        return Decimal(self.answer).scaleb(-decimals)

    def age_s(self, now_ms: int) -> float:
        """Seconds between the answer's update and ``now_ms`` (negative if clocks disagree)."""
        return now_ms / 1000 - self.updated_at_s


def decode_answer_updated(topics: Sequence[bytes], data: bytes) -> OracleRound:
    """A Chainlink ``AnswerUpdated`` log (answer and round id are indexed, the time is data)."""
    if len(topics) != 3 or topics[0] != ANSWER_UPDATED:
        raise ChainDecodeError("not an AnswerUpdated log (topic0 and 3 topics expected)")
    (updated_at,) = decode_words(["uint256"], data, "AnswerUpdated")
    return OracleRound(
        answer=topic_int(topics[1], signed=True),
        round_id=topic_int(topics[2]),
        updated_at_s=updated_at,
    )


def decode_latest_round_data(result: bytes) -> OracleRound:
    """An ``eth_call`` return of ``latestRoundData()``: ``(uint80 roundId, int256 answer,
    uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)``.
    """
    round_id, answer, _started, updated_at, _answered = decode_words(
        ["uint80", "int256", "uint256", "uint256", "uint80"], result, "latestRoundData"
    )
    return OracleRound(answer=answer, round_id=round_id, updated_at_s=updated_at)


@dataclass(frozen=True, slots=True)
class BandReference:
    """Band's reference rate: ``rate`` scaled by 1e18, update times in Unix seconds."""

    rate: int
    updated_base_s: int
    updated_quote_s: int

    def price(self) -> Decimal:
        return Decimal(self.rate).scaleb(-BAND_DECIMALS)

    @property
    def updated_at_s(self) -> int:
        """The older of the two legs' times: the rate is only as fresh as its staler side."""
        return min(self.updated_base_s, self.updated_quote_s)


def decode_band_reference(result: bytes) -> BandReference:
    """An ``eth_call`` return of ``getReferenceData(string,string)``: a ``(uint256, uint256,
    uint256)`` struct (static, so ABI-encoded inline as three words)."""
    rate, base_s, quote_s = decode_words(
        ["uint256", "uint256", "uint256"], result, "getReferenceData"
    )
    return BandReference(rate=rate, updated_base_s=base_s, updated_quote_s=quote_s)


DEFAULT_MAX_AGE_S = 3600
"""Older answers are flagged ``stale``; pass a feed's own heartbeat where it is known."""


def answer_updated_envelopes(
    log: Log,
    *,
    received_ms: int,
    block_time_ms: int | None,
    max_age_s: int = DEFAULT_MAX_AGE_S,
) -> list[Envelope[Any]]:
    """A Chainlink ``AnswerUpdated`` log → one ``PriceUpdate`` (``exchange`` ``chainlink``).

    Staleness is the answer's ``updatedAt`` against the block time (or the receive time): an
    answer older than ``max_age_s`` is flagged ``stale``. An aggregator missing from the registry
    still yields an envelope: pair ``UNKNOWN-<address>``, price ``0.0`` (its decimals are
    unknown) and the flag ``unknown_feed``; the raw answer is in neither, so re-decode the log
    once the feed is registered.
    """
    round_ = decode_answer_updated(log.topics, log.data)
    now_ms = block_time_ms if block_time_ms is not None else received_ms
    pair, price, flags = _chainlink_price(log.chain, log.address, round_, now_ms, max_age_s)
    data = PriceUpdate(
        exchange="chainlink",
        pair=pair,
        price=price,
        chain=log.chain,
        block_number=log.block_number,
        tx_hash=log.tx_hash,
        log_index=log.log_index,
    )
    return [
        wrap_log(
            data,
            log,
            key="price",
            received_ms=received_ms,
            block_time_ms=block_time_ms,
            quality_flags=tuple(flags),
        )
    ]


def latest_round_envelope(
    *,
    chain: str,
    feed_address: str,
    result: bytes,
    received_ms: int,
    block_time_ms: int | None,
    max_age_s: int = DEFAULT_MAX_AGE_S,
) -> Envelope[Any]:
    """A Chainlink ``latestRoundData()`` return (by ``eth_call``) → one ``PriceUpdate``.

    As for ``AnswerUpdated``: decimals from the registry (else ``unknown_feed``, price 0.0),
    ``stale`` when ``updatedAt`` is older than ``max_age_s`` against the block time (or the
    receive time). The event time is the round's ``updatedAt``; the message id is the feed and
    round, so polling an unchanged round again yields the same message.
    """
    round_ = decode_latest_round_data(result)
    feed_address = feed_address.lower()
    now_ms = block_time_ms if block_time_ms is not None else received_ms
    pair, price, flags = _chainlink_price(chain, feed_address, round_, now_ms, max_age_s)
    data = PriceUpdate(exchange="chainlink", pair=pair, price=price, chain=chain)
    key = (chain, feed_address, round_.round_id, data.message_type, "round")
    return _oracle_envelope(data, chain, key, round_.updated_at_s, received_ms, flags)


def band_reference_envelope(
    *,
    chain: str,
    reference: str,
    base: str,
    quote: str,
    result: bytes,
    received_ms: int,
    block_time_ms: int | None,
    max_age_s: int = DEFAULT_MAX_AGE_S,
) -> Envelope[Any]:
    """A Band ``getReferenceData(base, quote)`` return → one ``PriceUpdate`` (exchange ``band``).

    The pair is ``{base}-{quote}`` from the call's own arguments (``BTC``, ``USD``); the event
    time is the older leg's update, which also decides ``stale``; the message id is the
    contract, pair and that time.
    """
    ref = decode_band_reference(result)
    flags: list[str] = []
    now_ms = block_time_ms if block_time_ms is not None else received_ms
    if now_ms / 1000 - ref.updated_at_s > max_age_s:
        flags.append("stale")
    data = PriceUpdate(
        exchange="band", pair=f"{base}-{quote}".upper(), price=float(ref.price()), chain=chain
    )
    key = (chain, reference.lower(), data.pair, ref.updated_at_s, data.message_type, "band")
    return _oracle_envelope(data, chain, key, ref.updated_at_s, received_ms, flags)


def _chainlink_price(
    chain: str, address: str, round_: OracleRound, now_ms: int, max_age_s: int
) -> tuple[str, float, list[str]]:
    """A round's pair, price and flags: decimals from the registry (else ``unknown_feed``,
    pair ``UNKNOWN-<address>``, price 0.0), ``stale`` when older than ``max_age_s``."""
    feed = feed_at(chain, address)
    flags: list[str] = []
    if feed is None:
        pair, price = f"UNKNOWN-{address}", 0.0
        flags.append("unknown_feed")
    else:
        pair, price = feed.pair, float(round_.price(feed.decimals))
    if round_.age_s(now_ms) > max_age_s:
        flags.append("stale")
    return pair, price, flags


def _oracle_envelope(
    data: PriceUpdate,
    chain: str,
    key: tuple[object, ...],
    updated_at_s: int,
    received_ms: int,
    flags: list[str],
) -> Envelope[Any]:
    grade = "low" if flags else "high"  # as wrap_log grades a log's flags
    return new_envelope(
        data,
        source=f"{chain}-rpc",
        event_time_ms=min(max(updated_at_s, 0) * 1000, _MAX_EPOCH_MS),
        received_time_ms=received_ms,
        message_id=message_id_for(*key),
        confidence_score=CONFIDENCE[grade],
        data_quality=grade,
        quality_flags=flags or None,
    )
