"""The one error the stack raises: its message is the single line a user needs to act on."""

from __future__ import annotations


class StackError(RuntimeError):
    """Startup or health failure, phrased as what to fix."""
