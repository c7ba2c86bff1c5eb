"""Envelope encode/decode throughput: our msgspec models against what peers use.

One ``price_update`` envelope (the design record's example) is encoded and decoded ``n`` times
per codec, best of ``repeat`` interleaved rounds, in one process so the figures compare:

- ``lucent``: ``envelope.encode`` and the generic ``envelope.decode`` (header first, then
  ``data`` typed by ``messageType``), the processor's path;
- ``lucent (likely kind)``: ``decode(frame, likely=PriceUpdate)``, one typed pass;
- ``json + dict``: stdlib ``json`` to and from plain dicts (no typing, no validation);
- ``orjson + dict``: the same with orjson, when installed;
- ``pydantic v2``: ``model_validate_json`` / ``model_dump_json`` on equivalent models, what a
  Quix Streams pipeline with typed messages typically does.

Ratios are ``lucent`` (generic decode, the conservative figure) / peer; above 1 we are faster.
"""

from __future__ import annotations

import gc
import json
import time
from collections.abc import Callable
from importlib.util import find_spec
from typing import Any

from lucent_platform.envelope import decode, encode, new_envelope
from lucent_platform.messages import Liquidity, PriceUpdate

OURS = "lucent"


def _sample() -> bytes:
    data = PriceUpdate(
        exchange="binance",
        pair="ETH-USDC",
        price=2847.52,
        volume24h=1234567.89,
        change24h=2.45,
        bid=2847.40,
        ask=2847.60,
        spread=0.20,
        liquidity=Liquidity(bid_size=100.5, ask_size=85.3),
    )
    envelope = new_envelope(
        data,
        source="binance-websocket",
        event_time_ms=1756809000123,
        received_time_ms=1756809000138,
        confidence_score=0.98,
    )
    return encode(envelope)


def _codecs(frame: bytes) -> dict[str, tuple[Callable[[], Any], Callable[[], Any]]]:
    """Per codec: (encode one message, decode one frame), each checked to round-trip."""
    envelope = decode(frame)
    as_dict = json.loads(frame)
    codecs: dict[str, tuple[Callable[[], Any], Callable[[], Any]]] = {
        OURS: (lambda: encode(envelope), lambda: decode(frame)),
        "lucent (likely kind)": (
            lambda: encode(envelope),
            lambda: decode(frame, likely=PriceUpdate),
        ),
        "json + dict": (
            lambda: json.dumps(as_dict, separators=(",", ":")).encode(),
            lambda: json.loads(frame),
        ),
    }
    if find_spec("orjson") is not None:
        import orjson

        codecs["orjson + dict"] = (lambda: orjson.dumps(as_dict), lambda: orjson.loads(frame))
    if find_spec("pydantic") is not None:
        model = _pydantic_envelope().model_validate_json(frame)
        codecs["pydantic v2"] = (
            lambda: model.model_dump_json(by_alias=True, exclude_none=True).encode(),
            lambda: type(model).model_validate_json(frame),
        )
    for name, (encode_one, decode_one) in codecs.items():
        if json.loads(encode_one()) != as_dict or decode(encode_one()) != envelope:
            raise AssertionError(f"{name} does not round-trip the sample envelope")
        decode_one()
    return codecs


def _pydantic_envelope() -> type[Any]:
    """Pydantic v2 models equivalent to ``Envelope[PriceUpdate]`` (camelCase aliases)."""
    from pydantic import BaseModel, ConfigDict, Field
    from pydantic.alias_generators import to_camel

    class Model(BaseModel):
        model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)

    class Header(Model):
        message_id: str
        timestamp: str
        source: str
        message_type: str
        version: str
        event_time_ms: int
        received_time_ms: int
        correlation_id: str | None = None
        causation_id: str | None = None

    class PydLiquidity(Model):
        bid_size: float
        ask_size: float

    class PydPriceUpdate(Model):
        exchange: str
        pair: str
        price: float
        # to_camel would say volume24H: the design record's names are spelled out.
        volume24h: float | None = Field(default=None, alias="volume24h")
        change24h: float | None = Field(default=None, alias="change24h")
        bid: float | None = None
        ask: float | None = None
        spread: float | None = None
        liquidity: PydLiquidity | None = None

    class Metadata(Model):
        latency_ms: float
        confidence_score: float = Field(ge=0.0, le=1.0)
        data_quality: str
        quality_flags: list[str] | None = None

    class PydEnvelope(Model):
        header: Header
        data: PydPriceUpdate
        metadata: Metadata

    return PydEnvelope


def _rate(call: Callable[[], Any], n: int) -> float:
    """Calls per second over ``n`` calls."""
    gc.collect()
    start = time.perf_counter()
    for _ in range(n):
        call()
    return n / (time.perf_counter() - start)


def run(n: int = 200_000, repeat: int = 3, echo: bool = True) -> dict[str, Any]:
    """Measure encode and decode messages/s per codec; print the table when ``echo``.

    Rounds are interleaved (every codec once per round, best round kept) so that a noisy
    moment on a shared machine does not land on one codec only.
    """
    frame = _sample()
    codecs = _codecs(frame)
    rates = {name: {"encode_per_s": 0.0, "decode_per_s": 0.0} for name in codecs}
    for _ in range(repeat):
        for name, (encode_one, decode_one) in codecs.items():
            best = rates[name]
            best["encode_per_s"] = max(best["encode_per_s"], _rate(encode_one, n))
            best["decode_per_s"] = max(best["decode_per_s"], _rate(decode_one, n))
    ours = rates[OURS]
    ratios = {
        name: {
            "encode": ours["encode_per_s"] / rate["encode_per_s"],
            "decode": ours["decode_per_s"] / rate["decode_per_s"],
        }
        for name, rate in rates.items()
        if not name.startswith(OURS)
    }
    result = {
        "n": n,
        "repeat": repeat,
        "frame_bytes": len(frame),
        "rates": rates,
        "ratios": ratios,
        "missing": [] if "orjson + dict" in rates else ["orjson"],
    }
    if echo:
        print(format_table(result))
    return result


def format_table(result: dict[str, Any]) -> str:
    lines = [
        f"envelope price_update, {result['frame_bytes']} bytes, n={result['n']:,}, "
        f"best of {result['repeat']}",
        f"{'codec':<22}{'encode msg/s':>14}{'decode msg/s':>14}{'ours/peer enc':>15}"
        f"{'ours/peer dec':>15}",
    ]
    for name, rate in result["rates"].items():
        ratio = result["ratios"].get(name)
        enc_ratio = f"{ratio['encode']:.2f}x" if ratio else "-"
        dec_ratio = f"{ratio['decode']:.2f}x" if ratio else "-"
        lines.append(
            f"{name:<22}{rate['encode_per_s']:>14,.0f}{rate['decode_per_s']:>14,.0f}"
            f"{enc_ratio:>15}{dec_ratio:>15}"
        )
    lines += [f"({name} not installed: skipped)" for name in result["missing"]]
    return "\n".join(lines)


if __name__ == "__main__":
    run()
