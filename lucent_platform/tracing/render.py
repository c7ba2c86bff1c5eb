"""A causal chain as text: an indented tree (each link under the one it caused) or JSON.

PositionRecommendationEvent 7c1e…  portfolio-main@3  2026-11-28T21:50:01.123Z
  notionalUsd=1200.0 opportunityId=… limitedBy=kelly
└─ YieldOpportunityDetected 5b0c…  yield-opportunity-…@0  …
   └─ command yield.opportunity.detected 5b0c…
      └─ signal yield_opportunity 69ef…  kafka yield.opportunities/0/42, clickhouse …
         └─ market yield_rate 1d1e…  clickhouse yields  …
"""

from __future__ import annotations

import json
from typing import Any

from lucent_platform.envelope import ms_to_iso
from lucent_platform.tracing.chain import Link

DETAIL_FIELDS = 6  # fields shown per link in the tree; --json has them all


def as_json(event_id: str, chain: list[Link]) -> str:
    return json.dumps({"eventId": event_id, "chain": [link.as_json() for link in chain]},
                      indent=2, default=str)  # fmt: skip


def as_tree(chain: list[Link]) -> str:
    lines: list[str] = []
    for depth, link in enumerate(chain):
        lead = "" if depth == 0 else "   " * (depth - 1) + "└─ "
        pad = "   " * depth + ("  " if depth == 0 else "   ")
        kind = "" if link.kind == "event" else f"{link.kind} "
        head = [f"{lead}{kind}{link.title} {link.id}"]
        if link.where:
            head.append(", ".join(link.where))
        if link.time_ms is not None:
            head.append(ms_to_iso(link.time_ms))
        lines.append("  ".join(head))
        summary = _summary(link.details)
        if summary:
            lines.append(pad + summary)
        lines += [pad + f"! {note}" for note in link.notes]
    return "\n".join(lines)


def _summary(details: dict[str, Any]) -> str:
    shown = [(k, v) for k, v in details.items() if v is not None and not isinstance(v, dict | list)]
    return " ".join(f"{k}={v}" for k, v in shown[:DETAIL_FIELDS])
