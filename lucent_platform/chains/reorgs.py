"""The recent blocks a chain feed has processed: their hashes and logs, to undo a reorg.

A poller remembers, per processed block, its hash and the log objects it emitted. When the
node later reports another hash at a remembered height, the blocks from there on were
orphaned: their logs are fed again with ``removed: true`` — exactly what a node's
subscription sends for a reorg — so the decoders emit retractions with the same message ids
(``logs.py``'s rule), and the feed re-reads from the fork point.

A remembered block, as the poller stores it from ``eth_getBlockByNumber`` and ``eth_getLogs``::

    Block(number=11017338, hash="0x…", parent_hash="0x…",
          logs=[{"address": "0xb4e1…c9dc", "topics": [...], "removed": False, ...}])
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Block:
    number: int
    hash: str
    parent_hash: str | None = None
    logs: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class BlockWindow:
    """The last ``depth`` processed blocks (only those whose header the feed read)."""

    depth: int = 256
    _blocks: OrderedDict[int, Block] = field(default_factory=OrderedDict)

    def remember(self, block: Block) -> None:
        """Add a processed block (heights only grow); the oldest beyond ``depth`` is forgotten."""
        self._blocks[block.number] = block
        self._blocks.move_to_end(block.number)
        while len(self._blocks) > self.depth:
            self._blocks.popitem(last=False)

    def tip(self) -> Block | None:
        """The highest remembered block."""
        return next(reversed(self._blocks.values()), None)

    def heights(self) -> list[int]:
        return list(self._blocks)

    def hash_at(self, number: int) -> str | None:
        block = self._blocks.get(number)
        return None if block is None else block.hash

    def fork_point(self, current: Mapping[int, str | None]) -> int | None:
        """The lowest remembered height whose hash the node no longer has, from the node's
        ``current`` hashes by height (``None``: the node has no block there any more);
        ``None`` if every compared height still matches."""
        for number, block in self._blocks.items():
            if number in current and current[number] != block.hash:
                return number
        return None

    def orphan_from(self, number: int) -> list[dict[str, Any]]:
        """Forget the blocks at ``number`` and above; their logs as ``removed: true`` copies,
        newest block first and in reverse log order (undo in the opposite order of doing)."""
        retracted: list[dict[str, Any]] = []
        for height in sorted((h for h in self._blocks if h >= number), reverse=True):
            block = self._blocks.pop(height)
            retracted.extend({**log, "removed": True} for log in reversed(block.logs))
        return retracted

    def snapshot(self) -> list[list[int | str]]:
        """The remembered heights and hashes (not the logs), oldest first, for a checkpoint."""
        return [[block.number, block.hash] for block in self._blocks.values()]

    def restore(self, heights: list[list[int | str]]) -> None:
        """Remember the blocks of a ``snapshot``; their logs are not known any more, so a reorg
        of them re-reads the new branch but cannot retract what was sent before."""
        for number, block_hash in heights:
            self.remember(Block(int(number), str(block_hash)))

    def parent_mismatch(self, number: int, parent_hash: str | None) -> bool:
        """A new block at ``number`` whose parent is not the remembered block below it."""
        below = self._blocks.get(number - 1)
        return below is not None and parent_hash is not None and below.hash != parent_hash
