"""``LUCENT_CHAINS``: which chains the chain feed follows, over which node, and how carefully.

One JSON object, chain name → settings; empty (the default) means no chain feed::

    LUCENT_CHAINS='{"ethereum": {"rpc_url": "http://127.0.0.1:8545", "confirmations": 12,
                                 "sources": ["dex", "oracles"]}}'

Only ``rpc_url`` is required; every other field has a per-chain default (``CHAIN_DEFAULTS``).
A wrong chain name, field name or type raises ``ValueError`` naming it, so startup stops.

Confirmation defaults are chosen from each chain's reorg record, trading latency for fewer
retractions (a reorg shallower than ``confirmations`` never reaches the topics; a deeper one is
still handled by retraction): Ethereum 12 blocks (~2.4 min; proof-of-stake reorgs deeper than a
few blocks have not happened, finality is ~64 blocks), the OP-stack rollups (Optimism, Base) 20
blocks (~40 s) and Arbitrum 40 (~10 s) — their sequencers reorg almost never, so this only
covers a sequencer restart — BSC 15 (~45 s), Polygon PoS 128 (~4 min; it has reorged over 100
blocks) and Gnosis 12 (~1 min).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lucent_platform.chains import bridges, registry
from lucent_platform.chains.dex import DEX_TOPICS
from lucent_platform.chains.governance import PROPOSAL_CREATED, VOTE_CAST, VOTE_CAST_ALPHA
from lucent_platform.chains.lending import RESERVE_DATA_UPDATED, RESERVE_UPDATED_V1
from lucent_platform.chains.liquidations import (
    ABSORB_COLLATERAL,
    LIQUIDATION_CALL,
    LIQUIDATION_CALL_V1,
)
from lucent_platform.chains.logs import CHAIN_NAMES
from lucent_platform.chains.oracles import ANSWER_UPDATED
from lucent_platform.json_config import from_json

SOURCES = ("dex", "oracles", "lending", "liquidations", "governance", "bridges")

SOURCE_TOPICS: dict[str, tuple[bytes, ...]] = {
    "dex": DEX_TOPICS,
    "oracles": (ANSWER_UPDATED,),
    "lending": (RESERVE_DATA_UPDATED, RESERVE_UPDATED_V1),
    "liquidations": (LIQUIDATION_CALL, LIQUIDATION_CALL_V1, ABSORB_COLLATERAL),
    "governance": (PROPOSAL_CREATED, VOTE_CAST, VOTE_CAST_ALPHA),
    "bridges": bridges.BRIDGE_TOPICS,
}
"""topic0 values each source asks ``eth_getLogs`` for (together, ``routes.LOG_TOPICS``)."""

CHAIN_IDS = {name: chain_id for chain_id, name in CHAIN_NAMES.items()}

CHAIN_DEFAULTS: dict[str, dict[str, Any]] = {
    # confirmations, poll every, stale after (s): about a third of a block time to poll, and
    # ten block times (one minute at least) of silence before the node counts as stale.
    "ethereum": {"confirmations": 12, "poll_seconds": 4.0, "stale_seconds": 120.0},
    "optimism": {"confirmations": 20, "poll_seconds": 2.0, "stale_seconds": 60.0},
    "base": {"confirmations": 20, "poll_seconds": 2.0, "stale_seconds": 60.0},
    "arbitrum": {"confirmations": 40, "poll_seconds": 1.0, "stale_seconds": 60.0},
    "bsc": {"confirmations": 15, "poll_seconds": 3.0, "stale_seconds": 60.0},
    "polygon": {"confirmations": 128, "poll_seconds": 2.0, "stale_seconds": 60.0},
    "gnosis": {"confirmations": 12, "poll_seconds": 5.0, "stale_seconds": 60.0},
}


@dataclass(frozen=True)
class ChainConfig:
    """One chain's feed settings (see the module docstring and README for each field)."""

    rpc_url: str
    ws_url: str | None = None
    confirmations: int = 12
    poll_seconds: float = 4.0
    stale_seconds: float = 120.0
    max_block_range: int = 1000
    addresses: list[str] | None = None
    sources: list[str] = field(default_factory=lambda: list(SOURCES))
    start_block: int | None = None
    reorg_depth: int = 256
    request_timeout_s: float = 30.0
    name: str = ""

    @property
    def chain_id(self) -> int:
        return CHAIN_IDS[self.name]

    @property
    def topics(self) -> list[str]:
        """The topic0 filter (one position, OR-ed) of the configured sources, as hex."""
        return ["0x" + t.hex() for s in self.sources for t in SOURCE_TOPICS[s]]

    @property
    def log_addresses(self) -> list[str]:
        """The contracts whose logs are asked for: the configured ones or the registry's."""
        if self.addresses is not None:
            return [a.lower() for a in self.addresses]
        return known_contracts(self.name, self.sources)

    @property
    def feeds(self) -> list[str]:
        """Chainlink aggregators polled with ``latestRoundData`` (registry, when oracles)."""
        if "oracles" not in self.sources:
            return []
        return [f.address for f in registry.FEEDS if f.chain == self.name]

    @property
    def comets(self) -> list[str]:
        """Compound v3 markets whose rates are polled (registry, when lending)."""
        if "lending" not in self.sources:
            return []
        return [
            m.address
            for m in registry.LENDING_MARKETS
            if m.chain == self.name and m.protocol == "compound-v3"
        ]


def known_contracts(chain: str, sources: list[str]) -> list[str]:
    """The registry's contracts of ``chain`` for ``sources``, sorted (the default filter)."""
    found: set[str] = set()
    if "dex" in sources:
        found |= {p.address for p in registry.POOLS if p.chain == chain}
    if "oracles" in sources:
        found |= {f.address for f in registry.FEEDS if f.chain == chain}
    if {"lending", "liquidations"} & set(sources):
        found |= {m.address for m in registry.LENDING_MARKETS if m.chain == chain}
    if "governance" in sources:
        found |= {g.address for g in registry.GOVERNORS if g.chain == chain}
    if "bridges" in sources:
        found |= {b.address for b in bridges.BRIDGES if b.chain == chain}
    return sorted(found)


def chains_config(overrides: Mapping[str, Any]) -> dict[str, ChainConfig]:
    """``LUCENT_CHAINS`` JSON → one ``ChainConfig`` per chain; ``ValueError`` naming what is
    wrong (an unknown chain, field or source, a missing ``rpc_url``, a negative number)."""
    if not isinstance(overrides, Mapping):
        raise ValueError("chains config must be an object: chain name → settings")
    built: dict[str, ChainConfig] = {}
    for name, section in overrides.items():
        if name not in CHAIN_IDS:
            raise ValueError(f"unknown chain {name!r} in chains config: use {sorted(CHAIN_IDS)}")
        if not isinstance(section, Mapping):
            raise ValueError(f"chains config {name!r} must be an object of field values")
        if "name" in section:
            raise ValueError(f"chains config {name!r}: 'name' is the key, not a field")
        values = {**CHAIN_DEFAULTS.get(name, {}), **section, "name": name}
        built[name] = from_json(ChainConfig, values, f"chains {name!r}", check=_check)
    return built


def _check(config: ChainConfig) -> None:
    if not config.rpc_url.startswith(("http://", "https://")):
        raise ValueError(f"rpc_url must be an http(s) URL, got {config.rpc_url!r}")
    if config.ws_url is not None and not config.ws_url.startswith(("ws://", "wss://")):
        raise ValueError(f"ws_url must be a ws(s) URL, got {config.ws_url!r}")
    if wrong := sorted(set(config.sources) - set(SOURCES)):
        raise ValueError(f"unknown source(s) {wrong}: use {list(SOURCES)}")
    if config.confirmations < 0:
        raise ValueError("confirmations cannot be negative")
    if config.max_block_range < 1 or config.reorg_depth < 1:
        raise ValueError("max_block_range and reorg_depth must be at least 1")
    if config.poll_seconds <= 0 or config.stale_seconds <= 0 or config.request_timeout_s <= 0:
        raise ValueError("poll_seconds, stale_seconds and request_timeout_s must be positive")
    if config.start_block is not None and config.start_block < 0:
        raise ValueError("start_block cannot be negative")
