"""Request bodies for the embedded ClickHouse server: read in pieces, decoded, bounded.

A body is read in full before the engine is taken, so a slow client never holds up the others,
but it is kept as the list of pieces it arrived in: an insert's pieces go to chDB one by one,
never joined or sliced into a second copy. ``Content-Encoding`` (what clickhouse-connect sends
with ``compress=True``: lz4, zstd, gzip or deflate) is decoded piece by piece as it arrives.
"""

from __future__ import annotations

import email.parser
import email.policy
import zlib
from collections.abc import Callable
from typing import Protocol

from lucent_platform.embedded.clickhouse_engine import ServerError

PIECE = 1 << 20  # bytes read at a time from a Content-Length body


class Reader(Protocol):
    """The request's input stream (``BaseHTTPRequestHandler.rfile``)."""

    def read(self, size: int, /) -> bytes: ...

    def readline(self, size: int, /) -> bytes: ...


class BodyTooLarge(ServerError):
    """The body exceeds the server's limit; answered with HTTP 413."""

    def __init__(self, limit: int) -> None:
        reason = f"the request body exceeds the embedded server's limit of {limit} bytes"
        fix = "insert in smaller batches or raise --max-body-bytes"
        super().__init__(f"{reason}: {fix}", 290, "LIMIT_EXCEEDED")


def decoder(encoding: str) -> Callable[[bytes], bytes] | None:
    """A streaming decoder for one ``Content-Encoding`` (None for identity)."""
    name = encoding.strip().lower()
    if name in ("", "identity"):
        return None
    if name in ("gzip", "x-gzip", "deflate"):
        return zlib.decompressobj(31 if "gzip" in name else 15).decompress
    if name == "lz4":  # clickhouse-connect's lz4 is the LZ4 frame format
        import lz4.frame  # a clickhouse-connect dependency

        return lz4.frame.LZ4FrameDecompressor().decompress  # type: ignore[no-any-return]
    if name == "zstd":
        try:
            from compression import zstd  # type: ignore[import-not-found]  # Python ≥ 3.14
        except ImportError:
            from backports import zstd  # a clickhouse-connect dependency before 3.14

        return zstd.ZstdDecompressor().decompress  # type: ignore[no-any-return]
    supported = "lz4, zstd, gzip, deflate or none"
    raise ServerError(f"Unsupported Content-Encoding {encoding!r}: use {supported}", 48)


def read_body(rfile: Reader, headers: dict[str, str], limit: int) -> list[bytes]:
    """The request body as decoded pieces; BodyTooLarge once raw or decoded bytes pass
    ``limit`` (the rest of the body is still read and dropped, so that the client, still
    sending, gets the answer instead of a reset connection)."""
    decode = decoder(headers.get("content-encoding", ""))
    pieces: list[bytes] = []
    raw = size = 0
    for piece in _raw_pieces(rfile, headers):
        raw += len(piece)
        if raw > limit or size > limit:
            pieces.clear()  # keep draining, drop what was kept
            continue
        if decode is not None:
            piece = decode(piece)
        size += len(piece)
        if piece and size <= limit:
            pieces.append(piece)
    if raw > limit or size > limit:
        raise BodyTooLarge(limit)
    return pieces


def _raw_pieces(rfile: Reader, headers: dict[str, str]) -> list[bytes] | _Chunks | _Sized:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return _Chunks(rfile)
    length = headers.get("content-length") or "0"
    if not length.isdigit():
        raise ServerError(f"bad Content-Length {length!r}", 36, "BAD_ARGUMENTS")
    return _Sized(rfile, int(length))


class _Sized:
    def __init__(self, rfile: Reader, length: int) -> None:
        self._rfile, self._left = rfile, length

    def __iter__(self) -> _Sized:
        return self

    def __next__(self) -> bytes:
        if self._left <= 0:
            raise StopIteration
        piece = self._rfile.read(min(PIECE, self._left))
        if not piece:
            raise ServerError("the client closed the connection mid-body", 36, "BAD_ARGUMENTS")
        self._left -= len(piece)
        return piece


class _Chunks:
    """HTTP/1.1 chunked transfer coding: each chunk is one piece."""

    def __init__(self, rfile: Reader) -> None:
        self._rfile = rfile

    def __iter__(self) -> _Chunks:
        return self

    def __next__(self) -> bytes:
        line = self._rfile.readline(1024).split(b";")[0].strip()
        try:
            size = int(line, 16)
        except ValueError:
            raise ServerError("malformed chunked body", 36, "BAD_ARGUMENTS") from None
        if size == 0:
            while self._rfile.readline(1024).strip():  # trailers
                pass
            raise StopIteration
        piece = self._rfile.read(size)
        if len(piece) < size or self._rfile.read(2) != b"\r\n":
            raise ServerError("malformed chunked body", 36, "BAD_ARGUMENTS")
        return piece


def form_fields(content_type: str, body: bytes) -> dict[str, str]:
    """The text fields of a ``multipart/form-data`` body: clickhouse-connect sends the query
    and its bound parameters this way when they are too long for the URL."""
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields: dict[str, str] = {}
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition")
        if part.get_filename() is not None:
            reason = "external data (temporary tables sent with the query) is unsupported"
            raise ServerError(f"form field {name!r}: {reason}")
        payload = part.get_payload(decode=True)
        fields[str(name)] = payload.decode() if isinstance(payload, bytes) else str(payload)
    return fields
