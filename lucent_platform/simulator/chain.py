"""The simulated chain under liquidations and governance: blocks, hashes, addresses, feeds.

Blocks follow Ethereum's 12-second slots from the Merge (block 15,537,394 at
2022-09-15T06:42:59Z), so a simulated event at 2025-09-02T10:30:00Z sits in block 23,336,129,
near where the real chain was (missed slots put the real one slightly behind). Every event
happens at its block's timestamp. Addresses and transaction hashes are deterministic fake hex:
a BLAKE2b digest of the run, what it names and a counter, so the same run gives the same
``0x…`` strings and two runs (another seed or start) never share one.
"""

from __future__ import annotations

import hashlib

from lucent_platform.envelope import message_id_for

MERGE_BLOCK = 15_537_394
MERGE_MS = 1_663_224_179_000
BLOCK_MS = 12_000
CHAIN_DELAY_MS = 800  # from the block's timestamp to our poller having its logs
CHAIN_JITTER_MS = 700.0  # mean extra delay (exponential): polling interval, node lag


def block_at(time_ms: int) -> int:
    """The block whose slot holds ``time_ms``."""
    return MERGE_BLOCK + (time_ms - MERGE_MS) // BLOCK_MS


def block_time_ms(block: int) -> int:
    """When ``block`` was produced (its ``timestamp``, in ms)."""
    return MERGE_MS + (block - MERGE_BLOCK) * BLOCK_MS


def fake_hex(run_id: str, what: str, n: int, size: int) -> str:
    """``size`` bytes of deterministic hex: ``fake_hex(run, "tx", 3, 32)`` is a tx hash."""
    digest = hashlib.blake2b(f"{run_id}\x1f{what}\x1f{n}".encode(), digest_size=size)
    return "0x" + digest.hexdigest()


class ChainFeed:
    """One protocol's on-chain feed (its liquidations or its governance): topic, key, ids."""

    def __init__(self, topic: str, protocol: str, run_id: str) -> None:
        self.topic = topic
        self.key = protocol.encode()
        self.source = f"{protocol}-simulator"
        self.delay_ms = CHAIN_DELAY_MS
        self.last_received_ms = 0
        self._id_prefix = f"{run_id}\x1f{topic}"
        self._sent = 0

    def next_message_id(self) -> str:
        self._sent += 1
        return message_id_for(self._id_prefix, self._sent)
