"""Labels: forward log returns of a bar's close over the configured horizons.

``ret_fwd_{h}`` at bar end ``t`` is ``log(close(t + h bars) / close(t))``, NaN where the bar
``h`` ahead is not known (yet); ``up_{h}`` is 1.0 when that return is positive, 0.0 when not,
NaN when unknown. The only columns of a dataset that look ahead, by definition: the split's
embargo (``split.py``) keeps them from leaking across a boundary.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

NAN = float("nan")


def label_names(horizons: Sequence[int]) -> list[str]:
    return [name for h in horizons for name in (f"ret_fwd_{h}", f"up_{h}")]


def forward_returns(
    times: Sequence[int], closes: Sequence[float], horizons: Sequence[int], bar_ms: int
) -> dict[str, list[float]]:
    """Label columns for bars ending at ``times`` (ms) with ``closes``; the bar ``h`` ahead is
    looked up by time, so gaps in ``times`` give NaN rather than a wrong neighbour."""
    close_at = dict(zip(times, closes, strict=True))
    labels: dict[str, list[float]] = {}
    for h in horizons:
        returns = []
        for t, close in zip(times, closes, strict=True):
            ahead = close_at.get(t + h * bar_ms)
            returns.append(NAN if ahead is None else math.log(ahead / close))
        labels[f"ret_fwd_{h}"] = returns
        labels[f"up_{h}"] = [NAN if math.isnan(r) else float(r > 0.0) for r in returns]
    return labels
