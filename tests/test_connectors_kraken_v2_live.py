"""The live feed's Kraken path on v2: ccxt.pro subscribes on its v2 URL, a local exchange answers
with Kraken's documented v2 example frames (not recordings; see
``tests/fixtures/market/kraken_v2/PROVENANCE.md``), and our connector reads every one of them."""

from __future__ import annotations

import json
from typing import Any

from lucent_platform.connectors import connector_for
from tests.exchange_server import ExchangeServer, Script
from tests.market_fixtures import frames, parse_all
from tests.test_connectors_kraken_v2 import DOCS
from tests.test_live_feed import collecting_feed, run_feed

ORDER = [
    "status", "ticker_subscribe_ack", "book_subscribe_ack", "ticker_snapshot", "ticker_update",
    "trade_snapshot", "trade_update", "book_snapshot", "book_update", "checksum_guide_snapshot",
    "heartbeat",
]  # fmt: skip
PAIRS = ["ALGO-USD", "MATIC-USD", "BTC-USD"]


def test_live_kraken_subscribes_on_v2_and_reads_the_v2_frames() -> None:
    messages = [DOCS[name] for name in ORDER]
    with ExchangeServer(Script([json.dumps(m) for m in messages])) as server:
        feed, received = collecting_feed("kraken", PAIRS, server)
        run_feed(
            feed,
            lambda: feed.counts["frames"] >= len(messages) and len(_channels(server)) == 3,
        )
    assert feed.counts["frames"] == len(messages) and feed.counts["rejected"] == 0
    assert feed.counts["resnapshots"] == 0  # every documented checksum verified
    assert _channels(server) == {"ticker", "trade", "book"}  # ccxt's v2 subscribe requests
    offline = [
        e for r in parse_all(connector_for("kraken", pairs=PAIRS), frames("kraken", messages))
        for e in r.envelopes
    ]  # fmt: skip
    assert _ids_and_data(received) == _ids_and_data(offline)  # one code path, live or not
    assert {e.header.message_type for e in received} == {
        "price_update", "trade", "orderbook_snapshot", "orderbook_delta",
    }  # fmt: skip


def _channels(server: ExchangeServer) -> set[str]:
    return {s["params"]["channel"] for s in server.subscriptions if s.get("method") == "subscribe"}


def _ids_and_data(envelopes: list[Any]) -> list[tuple[str, Any]]:
    return [(e.header.message_id, e.data) for e in envelopes]
