"""Reading recordings: our format, other tools' formats, gzip, folders merged by time."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pytest

from lucent_platform.connectors import RawFrame
from lucent_platform.recordings import (
    RecordingError,
    detect_exchange,
    read_recording,
    read_recordings,
    write_frames,
)

AGG_TRADE = {
    "stream": "btcusdt@aggTrade",
    "data": {"e": "aggTrade", "E": 1617566591315, "s": "BTCUSDT", "a": 665076760,
             "p": "58001.03000000", "q": "0.08620500", "T": 1617566591314, "m": True},
}  # fmt: skip
COINBASE_TICKER = {"type": "ticker", "product_id": "BAND-GBP", "price": "14.7775",
                   "time": "2021-04-17T16:43:30.244075Z"}  # fmt: skip
KRAKEN_TRADE = [321, [["5541.20000", "0.15850568", "1534614057.321597", "s", "l", ""]],
                "trade", "XBT/USD"]  # fmt: skip


def test_our_format_round_trips(tmp_path: Path) -> None:
    frames = [
        RawFrame("binance", 1_617_566_591_400_000_000, AGG_TRADE),
        RawFrame("binance", 1_617_566_591_500_000_000, {"lastUpdateId": 1}, url="https://x/depth"),
    ]
    out = io.StringIO()
    assert write_frames(out, frames) == 2
    path = tmp_path / "rec.jsonl.gz"
    with gzip.open(path, "wt") as f:
        f.write(out.getvalue())
    assert list(read_recording(path)) == frames


def test_bare_native_frames_take_the_exchange_clock(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(json.dumps(f) for f in (AGG_TRADE, COINBASE_TICKER, KRAKEN_TRADE)))
    frames = list(read_recording(path))
    assert [f.exchange for f in frames] == ["binance", "coinbase", "kraken"]
    assert frames[0].received_ns == 1617566591315 * 1_000_000
    assert frames[1].received_ns == 1618677810244075000
    assert frames[2].received_ns == 1534614057321597000
    assert frames[0].message == AGG_TRADE


def test_cryptofeed_and_tardis_line_prefixes(tmp_path: Path) -> None:
    path = tmp_path / "kraken.log"
    path.write_text(
        f"1617666423.7123: {json.dumps(KRAKEN_TRADE)}\n"
        f"2021-04-05T23:47:04.2071234Z {json.dumps(KRAKEN_TRADE)}\n"
    )
    first, second = read_recording(path)
    assert first.received_ns == 1617666423712300000 and first.exchange == "kraken"
    assert second.received_ns == 1617666424207123400 and second.message == KRAKEN_TRADE


def test_rest_snapshot_lines_keep_their_url(tmp_path: Path) -> None:
    path = tmp_path / "binance_us" / "rest_depth_snapshots.jsonl"
    path.parent.mkdir()
    line = {"url": "https://api.binance.us/api/v1/depth?symbol=BTCUSD", "recv_ts": 1617643092.25,
            "body": {"lastUpdateId": 7, "bids": [], "asks": []}}  # fmt: skip
    path.write_text(json.dumps(line) + "\n")
    (frame,) = read_recording(path)
    assert frame.exchange == "binanceus" and frame.url == line["url"]
    assert frame.received_ns == 1617643092250000000 and frame.message == line["body"]


def test_a_folder_merges_files_in_receive_order(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text(
        "\n".join(
            json.dumps({"exchange": "binance", "received_ns": t, "message": {"n": t}})
            for t in (1, 4, 5)
        )
    )
    (tmp_path / "b.jsonl").write_text(
        "\n".join(
            json.dumps({"exchange": "kraken", "received_ns": t, "message": {"n": t}})
            for t in (2, 3, 6)
        )
    )
    assert [f.received_ns for f in read_recordings(tmp_path)] == [1, 2, 3, 4, 5, 6]


def test_unreadable_inputs_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="no such file"):
        list(read_recordings(tmp_path / "missing"))
    (tmp_path / "x.jsonl").write_text('{"what": 1}\n')
    with pytest.raises(RecordingError, match=r"x\.jsonl:1: cannot tell which exchange"):
        list(read_recording(tmp_path / "x.jsonl"))
    # A garbage line of a known venue is kept as a frame: the connector rejects it, counted.
    (tmp_path / "kraken.jsonl").write_text("not json at all\n")
    (frame,) = read_recording(tmp_path / "kraken.jsonl")
    assert frame.message == "not json at all"


def test_detection_of_native_shapes() -> None:
    assert detect_exchange({"e": "trade", "s": "ETHUSDT"}) == "binance"
    assert detect_exchange({"event": "heartbeat"}) == "kraken"
    with pytest.raises(ValueError, match="pass --exchange"):
        detect_exchange([1, 2])
