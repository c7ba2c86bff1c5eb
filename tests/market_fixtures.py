"""Recorded exchange traffic for the connector tests: ``tests/fixtures/market/`` (PROVENANCE)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lucent_platform.connectors import Connector, ParseResult, RawFrame, connector_for

MARKET = Path(__file__).parent / "fixtures" / "market"
START_NS = 1_617_566_000_000_000_000  # a recorded-era clock for frames without receive times


def jsonl(name: str) -> list[Any]:
    with open(MARKET / name) as lines:
        return [json.loads(line) for line in lines if line.strip()]


def frames(exchange: str, messages: list[Any], start_ns: int = START_NS) -> list[RawFrame]:
    """Frames received 1 ms apart, in file order."""
    return [RawFrame(exchange, start_ns + i * 1_000_000, m) for i, m in enumerate(messages)]


def parse_all(connector: Connector, raw: list[RawFrame]) -> list[ParseResult]:
    return [connector.parse(frame) for frame in raw]


def envelopes(exchange: str, raw: list[RawFrame], **kwargs: Any) -> list[Any]:
    connector = connector_for(exchange, **kwargs)
    return [e for result in parse_all(connector, raw) for e in result.envelopes]


def binance_book_session(exchange: str = "binance") -> list[RawFrame]:
    """Depth updates (received at their event time ``E``) and the REST snapshots (received at
    their recorded ``recv_ts``), merged in receive order as the live feed would see them."""
    updates = [
        RawFrame(exchange, m["data"]["E"] * 1_000_000, m)
        for m in jsonl("binance/ws_depthUpdate.jsonl")
    ]
    snapshots = [
        RawFrame(exchange, round(s["recv_ts"] * 1e9), s["body"], url=s["url"])
        for s in jsonl("binance/rest_depth_snapshots.jsonl")
    ]
    return sorted(updates + snapshots, key=lambda f: f.received_ns)
