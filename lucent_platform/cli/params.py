"""Checks of names and paths typed on the command line, made before any client sees them.

A bad value is a usage error (exit 2, one line naming the option), never a traceback, and
never worse: a consumer group id that is not UTF-8 (a terminal's undecodable bytes arrive as
lone surrogates) aborted the whole process inside librdkafka (``Consumer_init: Assertion``),
and a NUL in a path or topic name raised ``ValueError`` from the OS or the client, a topic
name over 249 characters ``RuntimeError``.
"""

from __future__ import annotations

import math
import re
from typing import Any

import click

KAFKA_NAME = re.compile(r"[A-Za-z0-9._-]{1,249}")
"""What Kafka accepts as a topic name (and so the local broker too)."""
MAX_GROUP_ID = 249


def _shown(value: str) -> str:
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:80]}… ({len(value)} characters)"


def topic_name(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A Kafka topic name: 1..249 of ``[A-Za-z0-9._-]``."""
    if value is not None and not KAFKA_NAME.fullmatch(value):
        raise click.BadParameter(
            f"{_shown(value)} is not a Kafka topic name (1..249 of A-Z a-z 0-9 . _ -)"
        )
    return value


def group_id(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A consumer group id: 1..249 printable characters that are UTF-8."""
    if value is None:
        return None
    try:
        value.encode()
    except UnicodeEncodeError:
        raise click.BadParameter(f"{_shown(value)} is not UTF-8 text") from None
    if not 0 < len(value) <= MAX_GROUP_ID or not value.isprintable() or value.isspace():
        raise click.BadParameter(
            f"{_shown(value)} is not a consumer group id (1..{MAX_GROUP_ID} printable characters)"
        )
    return value


class SafePath(click.Path):
    """``click.Path`` that turns a path with a NUL byte into a usage error instead of the
    ``ValueError`` ``os.stat`` raises (undecodable bytes are fine: the OS takes them back)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and "\x00" in value:
            self.fail(f"{_shown(value)} contains a NUL character", param, ctx)
        return super().convert(value, param, ctx)


class Finite(click.FloatRange):
    """``click.FloatRange`` that also refuses NaN and ±inf, which its comparisons let through
    (``--seconds nan`` ran forever, ``--speed nan`` failed in ``time.sleep``)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number
