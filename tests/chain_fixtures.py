"""Recorded chain data for the chain decoder tests: ``tests/fixtures/chain/`` (PROVENANCE.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CHAIN_FIXTURES = Path(__file__).parent / "fixtures" / "chain"


def recorded_logs(relative: str) -> list[dict[str, Any]]:
    """The log objects of a recorded ``eth_getLogs`` array or ``eth_getTransactionReceipt``."""
    value = json.loads((CHAIN_FIXTURES / relative).read_text())
    if isinstance(value, dict):
        value = value["result"]["logs"]
    return list(value)
