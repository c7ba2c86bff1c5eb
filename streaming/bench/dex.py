"""Chain decode throughput: a recorded chain recording → envelopes, on one core.

Input is a chain recording (by default ``tests/fixtures/chain/recordings/ethereum_mixed.jsonl``:
real logs of Ethereum blocks 10673175, 11017338 and 12115107, with block headers, pool
metadata answers and a few other responses) replayed in rounds through a fresh
``ChainConnector`` until at least ``logs`` log objects were fed. Measured in one process pinned
to one core, in turn:

- ``decode-only floor``: for every log object of the same items, ``bytes.fromhex`` of its data
  and eth-abi's plain ``decode`` with the event's types looked up by topic0 — no log parsing or
  checks, no routing, no pool metadata, no envelopes (web3.py, the usual peer, is not
  installed; this is what any eth-abi decoder must do at least);
- ``ours``: ``ChainConnector.parse`` on every item (log parsing and checks, routing by topic0,
  pool lookup, prices with decimals, block times, envelopes with deterministic ids).

``logs/s`` counts the log objects each decodes: for ours every log whose topic0 the connector
routes, for the floor those with a layout in ``PEER_TYPES`` (every routed event but the
bridges', which the default input does not hold); other logs are skipped by both, inside the
timings.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from eth_abi import decode as abi_decode

from lucent_platform.chains import governance, lending, liquidations, oracles
from lucent_platform.chains.abi import (
    PANCAKE_V3_SWAP,
    UNISWAP_V2_SWAP,
    UNISWAP_V2_SYNC,
    UNISWAP_V3_SWAP,
)
from lucent_platform.chains.connector import ChainConnector, ChainFrame
from lucent_platform.chains.routes import POOL_TOPICS, ROUTES
from lucent_platform.recordings import read_recordings
from streaming.bench.feed import pin_to_one_core

DEFAULT_INPUT = (
    Path(__file__).resolve().parents[2] / "tests/fixtures/chain/recordings/ethereum_mixed.jsonl"
)

_V3 = ["int256", "int256", "uint160", "uint128", "int24"]
PEER_TYPES: dict[bytes, list[str]] = {
    UNISWAP_V2_SWAP: ["uint256"] * 4,
    UNISWAP_V2_SYNC: ["uint112", "uint112"],
    UNISWAP_V3_SWAP: _V3,
    PANCAKE_V3_SWAP: [*_V3, "uint128", "uint128"],
    oracles.ANSWER_UPDATED: ["uint256"],
    lending.RESERVE_DATA_UPDATED: ["uint256"] * 5,
    lending.RESERVE_UPDATED_V1: ["uint256"] * 5,
    liquidations.LIQUIDATION_CALL: ["uint256", "uint256", "address", "bool"],
    liquidations.LIQUIDATION_CALL_V1: ["uint256"] * 3 + ["address", "bool", "uint256"],
    liquidations.ABSORB_COLLATERAL: ["uint256", "uint256"],
    governance.PROPOSAL_CREATED: [
        "uint256",
        "address",
        "address[]",
        "uint256[]",
        "string[]",
        "bytes[]",
        "uint256",
        "uint256",
        "string",
    ],
    governance.VOTE_CAST: ["uint256", "uint8", "uint256", "string"],
    governance.VOTE_CAST_ALPHA: ["address", "uint256", "bool", "uint256"],
}
"""The data words of each event we route, for the decode-only peer (by hex topic0 below)."""
_PEER_BY_HEX = {"0x" + topic.hex(): types for topic, types in PEER_TYPES.items()}


def log_objects(frames: list[ChainFrame]) -> Iterator[Mapping[str, Any]]:
    """Every log object in the items: bare logs and the results of ``eth_getLogs`` responses."""
    for frame in frames:
        message = frame.message
        if not isinstance(message, Mapping):
            continue
        if "topics" in message:
            yield message
        elif isinstance(message.get("result"), list):
            yield from (obj for obj in message["result"] if isinstance(obj, Mapping))


def routed(obj: Mapping[str, Any]) -> bool:
    topics = obj.get("topics")
    return bool(topics) and isinstance(topics, list) and topics[0] in _ROUTED_HEX


_ROUTED_HEX = frozenset("0x" + topic.hex() for topic in ROUTES)
_POOL_HEX = frozenset("0x" + topic.hex() for topic in POOL_TOPICS)


def ours(frames: list[ChainFrame], rounds: int) -> int:
    """Envelopes from every item, a fresh connector per round (pools and blocks learnt again)."""
    envelopes = 0
    for _ in range(rounds):
        connectors: dict[str, ChainConnector] = {}
        for frame in frames:
            connector = connectors.get(frame.chain) or connectors.setdefault(
                frame.chain, ChainConnector(frame.chain)
            )
            envelopes += len(connector.parse(frame).envelopes)
    return envelopes


def decode_only(logs: list[Mapping[str, Any]], rounds: int) -> int:
    """eth-abi's ``decode`` of each routed log's data by topic0, nothing else."""
    decoded = 0
    for _ in range(rounds):
        for obj in logs:
            types = _PEER_BY_HEX.get(obj["topics"][0]) if obj.get("topics") else None
            if types is None:
                continue
            try:
                abi_decode(types, bytes.fromhex(obj["data"][2:]))
            except Exception:  # a same-topic event of another layout: not decoded, not counted
                continue
            decoded += 1
    return decoded


def run(input_path: Path = DEFAULT_INPUT, logs: int = 100_000, echo: bool = True) -> dict[str, Any]:
    frames = [f for f in read_recordings(input_path) if isinstance(f, ChainFrame)]
    if not frames:
        raise ValueError(f'{input_path}: no chain items (lines with "chain") to decode')
    objects = list(log_objects(frames))
    routed_logs = sum(1 for obj in objects if routed(obj))
    dex_logs = sum(1 for obj in objects if routed(obj) and obj["topics"][0] in _POOL_HEX)
    if routed_logs == 0:
        raise ValueError(f"{input_path}: no log the connector decodes")
    rounds = max(1, -(-logs // routed_logs))
    core = pin_to_one_core()
    ours(frames, 1)  # warm imports and caches outside the timings
    decode_only(objects, 1)
    start = time.perf_counter()
    peer_count = decode_only(objects, rounds)
    peer_s = time.perf_counter() - start
    start = time.perf_counter()
    envelopes = ours(frames, rounds)
    ours_s = time.perf_counter() - start
    results: dict[str, Any] = {
        "input": str(input_path),
        "items_per_round": len(frames),
        "logs_per_round": len(objects),
        "routed_logs_per_round": routed_logs,
        "dex_logs_per_round": dex_logs,
        "rounds": rounds,
        "core": core,
        "ours_logs_per_s": routed_logs * rounds / ours_s,
        "ours_envelopes_per_s": envelopes / ours_s,
        "decode_only_logs_per_s": peer_count / peer_s,
    }
    results["ratio_ours_vs_decode_only"] = (
        results["ours_logs_per_s"] / results["decode_only_logs_per_s"]
    )
    if echo:
        print(format_table(results))
    return results


def format_table(r: dict[str, Any]) -> str:
    lines = [
        f"dex decode benchmark, one core (cpu {r['core']}), {r['items_per_round']} recorded "
        f"items ({r['routed_logs_per_round']} decoded logs, {r['dex_logs_per_round']} DEX) per "
        f"round × {r['rounds']} from {r['input']}",
        f"  {'decode-only floor (eth-abi)':<30} {r['decode_only_logs_per_s']:>12,.0f} logs/s",
        f"  {'ours (ChainConnector)':<30} {r['ours_logs_per_s']:>12,.0f} logs/s"
        f"  ({r['ours_envelopes_per_s']:,.0f} envelopes/s)",
        f"  ours / decode-only: {r['ratio_ours_vs_decode_only']:.2f}x",
    ]
    return "\n".join(lines)
