"""Recordings of exchange traffic: our own JSONL format, and other capture tools' formats.

Our format (``lucent record``) is one received frame per line::

    {"exchange": "binance", "received_ns": 1617566591315000000, "message": {...the frame...}}

with an optional ``"url"`` for REST responses (order-book snapshots). Chain traffic has one
received item per line, a log object exactly as ``eth_getLogs`` returns it or a JSON-RPC
response, with the request it answers as an optional ``"request"``::

    {"chain": "ethereum", "received_ns": 1602193400123000000, "message": {...log or response...},
     "request": {"method": "eth_getBlockByNumber", "params": ["0xa81c7a", false]}}

and is read into ``ChainFrame`` (``--chain`` names the chain of a file of bare log objects or
responses). Files may be gzipped.
Replay also reads what other tools record, line by line:

- bare exchange frames, e.g. a Binance combined-stream frame ``{"stream": …, "data": …}``;
- cryptofeed captures ``<receive seconds>: <frame>`` and Tardis-style ``<ISO time> <frame>``;
- REST captures ``{"url": …, "recv_ts": <seconds>, "body": …}``.

A frame without a receive time gets one from the exchange's own clock in the frame (or the
previous frame's), never from the wall clock: a recording is judged by its own time.
"""

from __future__ import annotations

import gzip
import heapq
import json
import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

from lucent_platform.chains.connector import ChainFrame
from lucent_platform.chains.logs import CHAIN_NAMES
from lucent_platform.connectors.frames import RawFrame

Frame = RawFrame | ChainFrame
"""What a recording line is read into: an exchange frame or a chain item."""

_CRYPTOFEED_LINE = re.compile(r"^(\d{9,}\.\d+):\s(.*)$", re.DOTALL)
_TARDIS_LINE = re.compile(r"^(\d{4}-\d\d-\d\dT[\d:.]+Z)\s(.*)$", re.DOTALL)
RECORDING_SUFFIXES = (".jsonl", ".jsonl.gz", ".json", ".json.gz", ".gz", ".log", ".txt")


class RecordingError(ValueError):
    """A recording cannot be read; the message names the file and line."""


def frame_to_json(frame: RawFrame) -> dict[str, Any]:
    """A frame as one line of our recording format."""
    line: dict[str, Any] = {
        "exchange": frame.exchange,
        "received_ns": frame.received_ns,
        "message": frame.message,
    }
    if frame.url:
        line["url"] = frame.url
    return line


def chain_frame_to_json(frame: ChainFrame) -> dict[str, Any]:
    """A chain item as one line of our recording format (``request`` only when there is one)."""
    line: dict[str, Any] = {
        "chain": frame.chain,
        "received_ns": frame.received_ns,
        "message": frame.message,
    }
    if frame.request is not None:
        line["request"] = dict(frame.request)
    return line


def line_of(frame: Frame) -> dict[str, Any]:
    """Any frame as one line of our recording format."""
    return chain_frame_to_json(frame) if isinstance(frame, ChainFrame) else frame_to_json(frame)


# --- reading ---------------------------------------------------------------------------------


def recording_files(path: Path) -> list[Path]:
    """The recording files at ``path``: the file itself, or every recording in a folder."""
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(
            p for p in path.rglob("*") if p.is_file() and p.name.endswith(RECORDING_SUFFIXES)
        )
        if files:
            return files
        raise RecordingError(f"{path}: no recordings (*.jsonl, *.jsonl.gz) in this folder")
    raise RecordingError(f"{path}: no such file or folder")


def read_recording(
    path: Path, exchange: str | None = None, chain: str | None = None
) -> Iterator[Frame]:
    """Every frame of one file, in file order. ``exchange`` overrides detection; ``chain``
    makes lines that are not our format (bare log objects, responses) items of that chain."""
    hint = exchange or exchange_from_path(path)
    reader = _Reader(hint, chain)
    last_ns = 0
    if path.name.endswith((".json", ".json.gz")):  # one JSON document: a frame or a list of them
        with _open(path) as whole:
            try:
                document = json.load(whole)
            except json.JSONDecodeError as exc:
                raise RecordingError(f"{path}: not JSON ({exc})") from None
        for value in document if isinstance(document, list) else [document]:
            try:
                frame = reader.frame_of(value, None, last_ns)
            except (ValueError, KeyError, TypeError, InvalidOperation) as exc:
                raise RecordingError(f"{path}: {exc}") from None
            last_ns = _ns(frame) or last_ns
            yield frame
        return
    with _open(path) as lines:
        for number, raw in enumerate(lines, start=1):
            text = raw.strip()
            if not text:
                continue
            try:
                frame = reader.parse_line(text, last_ns)
            except (ValueError, KeyError, TypeError, InvalidOperation) as exc:
                raise RecordingError(f"{path}:{number}: {exc}") from None
            last_ns = _ns(frame) or last_ns
            yield frame


def read_recordings(
    path: Path, exchange: str | None = None, chain: str | None = None
) -> Iterator[Frame]:
    """All files under ``path`` merged into one stream in receive order (stable per file)."""
    files = recording_files(path)
    if len(files) == 1:
        yield from read_recording(files[0], exchange, chain)
        return
    streams = [_keyed(index, read_recording(f, exchange, chain)) for index, f in enumerate(files)]
    for _, _, _, frame in heapq.merge(*streams):
        yield frame


def _keyed(index: int, frames: Iterator[Frame]) -> Iterator[tuple[int, int, int, Frame]]:
    """Sort keys for the merge: receive time, then file, then position in the file."""
    for position, frame in enumerate(frames):
        yield _ns(frame), index, position, frame


def _ns(frame: Frame) -> int:
    """The frame's receive time; 0 for a chain line whose ``received_ns`` is not an integer
    (kept as it is, for the connector to reject with its reason)."""
    ns = frame.received_ns
    return ns if isinstance(ns, int) and not isinstance(ns, bool) else 0


def _open(path: Path) -> IO[str]:
    with path.open("rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    if gzipped:
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open("r", encoding="utf-8")


class _Reader:
    """Line parsing with what a file told so far: after a chain line, a line that is not our
    format (garbage included) is an item of that chain, for its connector to reject or read."""

    def __init__(self, hint: str | None, chain: str | None) -> None:
        self.hint = hint
        self.chain = chain

    def parse_line(self, text: str, last_ns: int) -> Frame:
        received_ns: int | None = None
        if match := _CRYPTOFEED_LINE.match(text):
            received_ns = seconds_to_ns(match.group(1))
            text = match.group(2)
        elif match := _TARDIS_LINE.match(text):
            received_ns = _iso_to_ns(match.group(1))
            text = match.group(2)
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text  # a non-JSON frame is still a frame: the connector will reject it
        return self.frame_of(value, received_ns, last_ns)

    def frame_of(self, value: Any, received_ns: int | None, last_ns: int) -> Frame:
        if isinstance(value, dict) and {"chain", "message"} <= value.keys():
            chain = str(value["chain"])
            self.chain = self.chain or (chain if chain in _CHAIN_NAMES else None)
            recorded = value.get("received_ns")
            request = value.get("request")
            return ChainFrame(
                chain=chain,
                received_ns=recorded if recorded is not None else received_ns or last_ns,
                message=value["message"],
                request=request if request is not None else None,
            )
        if self.chain is not None and not (
            isinstance(value, dict) and {"exchange", "message"} <= value.keys()
        ):
            return ChainFrame(chain=self.chain, received_ns=received_ns or last_ns, message=value)
        return _frame_of(value, self.hint, received_ns, last_ns)


_CHAIN_NAMES = frozenset(CHAIN_NAMES.values())


def _frame_of(value: Any, hint: str | None, received_ns: int | None, last_ns: int) -> RawFrame:
    if isinstance(value, dict) and {"exchange", "message"} <= value.keys():
        return RawFrame(
            exchange=str(value["exchange"]),
            received_ns=int(value.get("received_ns") or received_ns or last_ns),
            message=value["message"],
            url=value.get("url"),
        )
    if isinstance(value, dict) and {"url", "body"} <= value.keys():
        url = str(value["url"])
        recv = value.get("recv_ts")
        return RawFrame(
            exchange=hint or exchange_from_url(url),
            received_ns=seconds_to_ns(recv) if recv is not None else received_ns or last_ns,
            message=value["body"],
            url=url,
        )
    exchange = hint or detect_exchange(value)
    if received_ns is None:
        received_ns = exchange_clock_ns(exchange, value) or last_ns
    return RawFrame(exchange=exchange, received_ns=received_ns, message=value)


def seconds_to_ns(value: float | str) -> int:
    """Epoch seconds (as text or float) to integer ns, exactly: no binary-float rounding."""
    return int(Decimal(str(value)) * 1_000_000_000)


def _iso_to_ns(text: str) -> int:
    whole, _, fraction = text.rstrip("Z").partition(".")
    seconds = datetime.fromisoformat(whole + "+00:00").timestamp()
    return int(seconds) * 1_000_000_000 + int((fraction + "000000000")[:9])


# --- which exchange ----------------------------------------------------------------------------

_PATH_HINTS = (
    ("binance_us", "binanceus"),
    ("binanceus", "binanceus"),
    ("binance_coinm", "binancecoinm"),
    ("binancecoinm", "binancecoinm"),
    ("binance_delivery", "binancecoinm"),
    ("binance", "binance"),
    ("coinbase", "coinbase"),
    ("kraken", "kraken"),
)
_URL_HINTS = (
    ("binance.us", "binanceus"),
    ("dapi.binance", "binancecoinm"),
    ("binance", "binance"),
    ("coinbase", "coinbase"),
    ("kraken", "kraken"),
)
_COINBASE_TYPES = frozenset(
    {"ticker", "match", "last_match", "snapshot", "l2update", "subscriptions", "heartbeat",
     "error", "received", "open", "done", "change", "status"}
)  # fmt: skip


def exchange_from_path(path: Path) -> str | None:
    """``…/binance_us/ws_aggTrade.jsonl`` → ``binanceus``; None when the path says nothing."""
    lowered = str(path).lower()
    for needle, exchange in _PATH_HINTS:
        if needle in lowered:
            return exchange
    return None


def exchange_from_url(url: str) -> str:
    lowered = url.lower()
    for needle, exchange in _URL_HINTS:
        if needle in lowered:
            return exchange
    raise ValueError(f"cannot tell the exchange of {url!r}: pass --exchange")


def detect_exchange(frame: Any) -> str:
    """Tell the venue from a native frame's shape (Binance, Coinbase Exchange, Kraken v1)."""
    if isinstance(frame, dict):
        if "stream" in frame and "data" in frame:
            return "binance"
        if isinstance(frame.get("e"), str) and "s" in frame:
            return "binance"  # a raw (not combined) Binance stream frame
        if frame.get("type") in _COINBASE_TYPES:
            return "coinbase"
        if "event" in frame:
            return "kraken"
    if isinstance(frame, list) and len(frame) >= 3 and isinstance(frame[-2], str):
        return "kraken"
    raise ValueError("cannot tell which exchange sent this frame: pass --exchange")


def exchange_clock_ns(exchange: str, frame: Any) -> int | None:
    """The exchange's own time in a frame, for recordings that kept no receive time."""
    try:
        if exchange.startswith("binance") and isinstance(frame, dict):
            data = frame.get("data", frame)
            ms = data.get("E") or data.get("T")
            return int(ms) * 1_000_000 if ms else None
        if exchange == "coinbase" and isinstance(frame, dict) and frame.get("time"):
            return _iso_to_ns(str(frame["time"]))
        if exchange == "kraken" and isinstance(frame, list):
            return _kraken_time_ns(frame[1])
    except (ValueError, TypeError, AttributeError, IndexError, InvalidOperation):
        return None
    return None


def _kraken_time_ns(payload: Any) -> int | None:
    times: list[int] = []
    if isinstance(payload, list):  # trades: [price, volume, time, side, type, misc]
        times = [seconds_to_ns(t[2]) for t in payload if isinstance(t, list) and len(t) > 2]
    elif isinstance(payload, dict):  # book: {"as"|"bs"|"a"|"b": [[price, volume, time], …]}
        for side in ("as", "bs", "a", "b"):
            times += [seconds_to_ns(level[2]) for level in payload.get(side, []) if len(level) > 2]
    return max(times) if times else None


# --- writing ---------------------------------------------------------------------------------


def write_frames(out: IO[str], frames: Iterable[Frame]) -> int:
    """Append frames (exchange frames or chain items) as JSONL lines; returns how many."""
    count = 0
    for frame in frames:
        out.write(json.dumps(line_of(frame), separators=(",", ":")) + "\n")
        count += 1
    return count


def open_for_writing(path: Path) -> IO[str]:
    """A recording file to write, gzipped when its name ends in ``.gz``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.name.endswith(".gz"):
        return gzip.open(path, "wt", encoding="utf-8")
    return path.open("w", encoding="utf-8")
