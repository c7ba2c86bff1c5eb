"""The chain connector: ONE received chain item in, envelopes out, never an exception.

Like ``connectors.base.Connector`` for exchanges, a ``ChainConnector`` per chain is a stateful
parser without I/O, so the live poller, the replayer and the tests drive the same code. An item
(``ChainFrame.message``) is either a log object exactly as ``eth_getLogs`` returns it, or a
JSON-RPC response with the request it answers (``ChainFrame.request``)::

    ChainFrame("ethereum", 1602193400123000000,
               {"jsonrpc": "2.0", "id": 7, "result": {"number": "0xa81c7a",
                "timestamp": "0x5f7f87c5", "hash": "0x…", …}},
               request={"method": "eth_getBlockByNumber", "params": ["0xa81c7a", false]})

What each item gives (``ChainParseResult``):

- a log → the envelopes of its event, routed by topic0 (``routes.ROUTES``); the event time is
  the block's timestamp when the connector has seen the block (a header, an
  ``eth_getBlockByNumber`` answer, ``learn_block``, or a ``blockTimestamp`` field on the log),
  else ``None`` and the envelopes say ``no_event_time``; a swap of a pool without metadata is
  listed once in ``unknown_pools``; an event we do not decode is ``skipped`` (by its topic0,
  without checking the rest of the log);
- ``eth_getLogs`` (and ``eth_getTransactionReceipt``) → every log of the result, in order;
  ``eth_getBlockByNumber`` and block headers (``eth_subscription`` ``newHeads``) → the block
  is learnt, ``control`` and ``head``; ``eth_blockNumber`` → ``head``;
- ``eth_call`` by selector and target: Chainlink ``latestRoundData()``, Band
  ``getReferenceData(string,string)``, Compound v3 ``getSupplyRate``/``getBorrowRate`` (one
  ``YieldRate`` once both rates of a Comet at one block are in), ``getUtilization()``
  (control), Aave v3 ``getReserveData(asset)`` (a ``YieldRate`` from the current rates), and
  the pool metadata calls ``token0()``, ``token1()``, ``factory()``, ``decimals()``,
  ``symbol()``: once a pool's tokens, their decimals and symbols (a reverted
  ``symbol()`` call gives a made-up ``T<address>`` one) and its factory are known (a reverted
  ``factory()`` call: a ``{family}-fork``), the pool is assembled and its later swaps decode
  with prices;
- a JSON-RPC error → ``rejected`` with its code and message.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from eth_abi import decode as abi_decode
from eth_utils import keccak

from lucent_platform.chains import lending, oracles
from lucent_platform.chains.abi import PANCAKE_V3_SWAP, UNISWAP_V3_SWAP, ChainDecodeError
from lucent_platform.chains.factories import Family, dex_of
from lucent_platform.chains.logs import CHAIN_NAMES, Log, parse_log
from lucent_platform.chains.registry import Pool, Token, pool_at, token_at
from lucent_platform.chains.routes import POOL_TOPICS, ROUTES, route
from lucent_platform.envelope import Envelope

_CHAIN_IDS = {name: chain_id for chain_id, name in CHAIN_NAMES.items()}
_MAX_RECEIVED_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z
_MAX_PENDING_POOLS = 4096  # pools waiting for metadata answers
_QUOTE_PREFERENCE = ("USDC", "USDT", "DAI", "BUSD", "USDBC", "FDUSD", "WETH", "WBNB", "WBTC")
"""A learnt pool's quote token: the first of its two symbols in this list (else token1)."""


def selector(signature: str) -> str:
    """The 4-byte function selector as ``0x`` hex: ``selector("token0()")`` is ``0x0dfe1681``."""
    return "0x" + keccak(text=signature)[:4].hex()


LATEST_ROUND_DATA = selector("latestRoundData()")
GET_REFERENCE_DATA = selector("getReferenceData(string,string)")
GET_SUPPLY_RATE = selector("getSupplyRate(uint256)")
GET_BORROW_RATE = selector("getBorrowRate(uint256)")
GET_UTILIZATION = selector("getUtilization()")
GET_RESERVE_DATA = selector("getReserveData(address)")
TOKEN0 = selector("token0()")
TOKEN1 = selector("token1()")
FACTORY = selector("factory()")
DECIMALS = selector("decimals()")
SYMBOL = selector("symbol()")
METADATA_CALLS = {TOKEN0: "token0", TOKEN1: "token1", FACTORY: "factory"}
"""Pool calls the poller makes for an address in ``unknown_pools`` (then the two tokens'
``decimals()`` and ``symbol()``)."""


@dataclass(frozen=True, slots=True)
class ChainFrame:
    """One received chain item: a log object, or a JSON-RPC response and its request."""

    chain: str
    received_ns: int
    message: Any
    request: Mapping[str, Any] | None = None


@dataclass
class ChainParseResult:
    """What one item gave.

    ``envelopes`` in log order; ``rejected`` why the item was unusable (``"<category>:
    <details>"``); ``control`` for items without market data (block headers, block numbers,
    metadata answers); ``skipped`` why a well-formed item gave nothing (a topic0 we do not
    decode); ``head`` a block number learnt; ``unknown_pools`` pool addresses seen without
    metadata, each listed once until its metadata arrives.
    """

    envelopes: list[Envelope[Any]] = field(default_factory=list)
    rejected: str | None = None
    control: bool = False
    skipped: str | None = None
    head: int | None = None
    unknown_pools: list[str] = field(default_factory=list)


class FrameRejected(ValueError):
    """An item is unusable; the text is ``"<category>: <details>"``."""


@dataclass
class _PendingPool:
    family: Family | None = None
    token0: str | None = None
    token1: str | None = None
    factory: str | None = None


class ChainConnector:
    """Parses one chain's items; ``parse`` never raises."""

    def __init__(self, chain: str, *, block_cache: int = 4096) -> None:
        if chain not in _CHAIN_IDS:
            raise ValueError(f"unknown chain {chain!r}: one of {sorted(_CHAIN_IDS)}")
        if block_cache < 1:
            raise ValueError("block_cache must be at least 1")
        self.chain = chain
        self.chain_id = _CHAIN_IDS[chain]
        self.head: int | None = None
        self._block_cache = block_cache
        self._blocks: OrderedDict[int, tuple[int, str | None]] = OrderedDict()
        self._pools: dict[str, Pool] = {}
        self._pending: OrderedDict[str, _PendingPool] = OrderedDict()
        self._signalled: set[str] = set()
        self._decimals: dict[str, int] = {}
        self._symbols: dict[str, str] = {}
        self._rates: dict[tuple[str, int], dict[str, bytes]] = {}
        self._routed = frozenset("0x" + topic.hex() for topic in ROUTES)

    # --- blocks ----------------------------------------------------------------------------

    def learn_block(self, number: int, timestamp_s: int, block_hash: str | None = None) -> None:
        """Remember a block's time (and hash); the oldest-used block is forgotten past the cap."""
        self._blocks[number] = (timestamp_s * 1000, block_hash)
        self._blocks.move_to_end(number)
        while len(self._blocks) > self._block_cache:
            self._blocks.popitem(last=False)
        if self.head is None or number > self.head:
            self.head = number

    def block_time_ms(self, number: int) -> int | None:
        """The block's timestamp in ms, if the connector has seen the block."""
        known = self._blocks.get(number)
        if known is None:
            return None
        self._blocks.move_to_end(number)
        return known[0]

    def pool(self, chain: str, address: str) -> Pool | None:
        """The pool's metadata: the shipped registry's, else one learnt by ``eth_call``."""
        return pool_at(chain, address) or self._pools.get(address.lower())

    # --- parsing -----------------------------------------------------------------------------

    def parse(self, frame: ChainFrame) -> ChainParseResult:
        """Turn one item into envelopes; bad input gives ``rejected``, never an exception."""
        try:
            if frame.chain != self.chain:
                raise FrameRejected(f"wrong chain: {frame.chain!r} item for {self.chain}")
            received_ms = _received_ms(frame.received_ns)
            return self._parse(frame.message, frame.request, received_ms)
        except FrameRejected as exc:
            return ChainParseResult(rejected=str(exc))
        except ChainDecodeError as exc:
            return ChainParseResult(rejected=f"bad log: {exc.reason}")
        except Exception as exc:  # a decoder bug must not stop a feed
            return ChainParseResult(rejected=f"unparseable: {type(exc).__name__}: {exc}")

    def _parse(
        self, message: Any, request: Mapping[str, Any] | None, received_ms: int
    ) -> ChainParseResult:
        if not isinstance(message, Mapping):
            raise FrameRejected(f"bad item: a JSON object expected, got {type(message).__name__}")
        if "topics" in message:
            return self._logs([message], received_ms)
        if message.get("method") == "eth_subscription":
            params = message.get("params")
            result = params.get("result") if isinstance(params, Mapping) else None
            return self._untyped_result(result, received_ms)
        if "error" in message and message.get("error") is not None:
            self._failed_call(request)
            raise FrameRejected(f"rpc error: {_rpc_error(message['error'])}")
        if "result" not in message:
            raise FrameRejected("bad item: neither a log object nor a JSON-RPC response")
        result = message["result"]
        if request is None:
            return self._untyped_result(result, received_ms)
        if not isinstance(request, Mapping):
            raise FrameRejected("bad request: a JSON object expected")
        method = request.get("method")
        params = request.get("params")
        params = list(params) if isinstance(params, list | tuple) else []
        if method == "eth_getLogs":
            if not isinstance(result, list):
                raise FrameRejected("bad response: eth_getLogs result is not a list")
            return self._logs(result, received_ms)
        if method == "eth_getTransactionReceipt":
            if result is None:
                return ChainParseResult(control=True, skipped="receipt not found")
            return self._receipt(result, received_ms)
        if method in ("eth_getBlockByNumber", "eth_getBlockByHash"):
            if result is None:
                return ChainParseResult(control=True, skipped="block not found")
            return self._block(result)
        if method == "eth_blockNumber":
            number = _quantity(result, "eth_blockNumber result")
            if self.head is None or number > self.head:
                self.head = number
            return ChainParseResult(control=True, head=number)
        if method == "eth_call":
            return self._call(params, result, received_ms)
        return ChainParseResult(skipped=f"method {str(method)[:60]!r} is not decoded")

    def _untyped_result(self, result: Any, received_ms: int) -> ChainParseResult:
        """A response without its request: logs and block headers tell themselves apart."""
        if isinstance(result, list):
            return self._logs(result, received_ms)
        if isinstance(result, Mapping) and "topics" in result:
            return self._logs([result], received_ms)
        if isinstance(result, Mapping) and "timestamp" in result and "number" in result:
            return self._block(result)
        if isinstance(result, Mapping) and "logs" in result and "transactionHash" in result:
            return self._receipt(result, received_ms)
        raise FrameRejected("no request: a response other than logs or a block needs its request")

    # --- logs --------------------------------------------------------------------------------

    def _receipt(self, receipt: Any, received_ms: int) -> ChainParseResult:
        """An ``eth_getTransactionReceipt`` result: its logs, as ``eth_getLogs`` gives them."""
        logs = receipt.get("logs") if isinstance(receipt, Mapping) else None
        if not isinstance(logs, list):
            raise FrameRejected("bad response: a receipt without a logs list")
        return self._logs(logs, received_ms)

    def _logs(self, objects: list[Any], received_ms: int) -> ChainParseResult:
        result = ChainParseResult()
        bad: list[str] = []
        skipped: set[str] = set()
        for obj in objects:
            try:
                self._log(obj, received_ms, result, skipped)
            except ChainDecodeError as exc:
                bad.append(exc.reason)
            except FrameRejected as exc:
                bad.append(str(exc))
        if bad:
            many = f" ({len(bad)} of {len(objects)} logs)" if len(objects) > 1 else ""
            result.rejected = f"bad log: {bad[0]}{many}"
        if skipped and not result.envelopes and not bad:
            result.skipped = "; ".join(sorted(skipped))
        return result

    def _log(self, obj: Any, received_ms: int, result: ChainParseResult, skipped: set[str]) -> None:
        topics = obj.get("topics") if isinstance(obj, Mapping) else None
        if isinstance(topics, list) and topics and isinstance(topics[0], str):
            topic0 = topics[0]
            if topic0 not in self._routed and topic0.lower() not in self._routed:
                # not ours: skipped before the (costlier) full parse of the log's fields
                skipped.add(f"event not decoded: topic0 {topic0[:18]}…")
                return
        log = parse_log(obj, chain_id=self.chain_id)
        stamp = obj.get("blockTimestamp") if isinstance(obj, Mapping) else None
        if stamp is not None and log.block_number not in self._blocks:
            self.learn_block(log.block_number, _quantity(stamp, "blockTimestamp"), log.block_hash)
        decoder = route(log)
        if decoder is None:
            topic = "0x" + log.topics[0].hex()[:16] + "…" if log.topics else "none"
            skipped.add(f"event not decoded: topic0 {topic}")
            return
        if log.topics[0] in POOL_TOPICS and self.pool(log.chain, log.address) is None:
            self._note_unknown_pool(log, result)
        result.envelopes.extend(
            decoder(
                log,
                received_ms=received_ms,
                block_time_ms=self.block_time_ms(log.block_number),
                pools=self.pool,
            )
        )

    def _note_unknown_pool(self, log: Log, result: ChainParseResult) -> None:
        address = log.address
        pending = self._pending_pool(address)
        if pending.family is None:
            topic = log.topics[0]
            pending.family = (
                "pancake_v3"
                if topic == PANCAKE_V3_SWAP
                else "uniswap_v3"
                if topic == UNISWAP_V3_SWAP
                else "uniswap_v2"
            )
        if address not in self._signalled:
            self._signalled.add(address)
            result.unknown_pools.append(address)

    # --- blocks ------------------------------------------------------------------------------

    def _block(self, header: Any) -> ChainParseResult:
        if not isinstance(header, Mapping):
            raise FrameRejected("bad block: a JSON object expected")
        number = _quantity(header.get("number"), "block number")
        timestamp = _quantity(header.get("timestamp"), "block timestamp")
        block_hash = header.get("hash")
        self.learn_block(
            number, timestamp, block_hash.lower() if isinstance(block_hash, str) else None
        )
        return ChainParseResult(control=True, head=number)

    # --- eth_call ----------------------------------------------------------------------------

    def _call(self, params: list[Any], result: Any, received_ms: int) -> ChainParseResult:
        try:
            return self._call_answer(params, result, received_ms)
        except ChainDecodeError as exc:  # a return that is not the function's layout
            raise FrameRejected(f"bad response: {exc.reason}") from None

    def _call_answer(self, params: list[Any], result: Any, received_ms: int) -> ChainParseResult:
        call = params[0] if params else None
        if not isinstance(call, Mapping):
            raise FrameRejected("bad request: eth_call needs a call object")
        to = _address(call.get("to"), "eth_call to")
        data = _hex(call.get("data", call.get("input")), "eth_call data")
        output = _hex(result, "eth_call result")
        if len(data) < 4:
            raise FrameRejected("bad request: eth_call data has no selector")
        sel = "0x" + data[:4].hex()
        block = self._call_block(params[1] if len(params) > 1 else "latest")
        block_time_ms = self.block_time_ms(block) if block is not None else None
        if sel == LATEST_ROUND_DATA:
            envelope = oracles.latest_round_envelope(
                chain=self.chain,
                feed_address=to,
                result=output,
                received_ms=received_ms,
                block_time_ms=block_time_ms,
            )
            return ChainParseResult(envelopes=[envelope])
        if sel == GET_REFERENCE_DATA:
            base, quote = _decode_args(["string", "string"], data[4:], "getReferenceData")
            envelope = oracles.band_reference_envelope(
                chain=self.chain,
                reference=to,
                base=base,
                quote=quote,
                result=output,
                received_ms=received_ms,
                block_time_ms=block_time_ms,
            )
            return ChainParseResult(envelopes=[envelope])
        if sel in (GET_SUPPLY_RATE, GET_BORROW_RATE):
            return self._comet_rate(to, sel, block, output, received_ms, block_time_ms)
        if sel == GET_UTILIZATION:
            return ChainParseResult(control=True)
        if sel == GET_RESERVE_DATA:
            return self._reserve_data(to, data[4:], block, output, received_ms, block_time_ms)
        if sel in METADATA_CALLS:
            return self._pool_metadata(to, METADATA_CALLS[sel], output)
        if sel in (DECIMALS, SYMBOL):
            return self._token_metadata(to, sel, output)
        return ChainParseResult(skipped=f"call not decoded: selector {sel} on {to}")

    def _failed_call(self, request: Any) -> None:
        """A token without ``symbol()`` (the call reverted) gets a made-up one from its address;
        a pool without ``factory()`` (some forks) is named ``{family}-fork``."""
        if not isinstance(request, Mapping) or request.get("method") != "eth_call":
            return
        params = request.get("params")
        call = params[0] if isinstance(params, list) and params else None
        if not isinstance(call, Mapping):
            return
        sel = str(call.get("data", "")).lower()
        with contextlib.suppress(FrameRejected):
            if sel == SYMBOL:
                self._symbols.setdefault(_address(call.get("to"), "eth_call to"), "")
            elif sel == FACTORY:
                address = _address(call.get("to"), "eth_call to")
                pending = self._pending.get(address)
                if pending is not None and pending.factory is None:
                    pending.factory = ""
            else:
                return
            self._assemble()

    def _call_block(self, tag: Any) -> int | None:
        """The block an ``eth_call`` ran at: its hex number, or the head for ``latest``."""
        if isinstance(tag, Mapping):  # EIP-1898 {"blockNumber": "0x…"}
            tag = tag.get("blockNumber", "latest")
        if isinstance(tag, str) and tag.startswith(("0x", "0X")):
            return _quantity(tag, "eth_call block")
        return self.head

    def _comet_rate(
        self,
        comet: str,
        sel: str,
        block: int | None,
        output: bytes,
        received_ms: int,
        block_time_ms: int | None,
    ) -> ChainParseResult:
        if block is None:
            raise FrameRejected("no block: a Comet rate read at 'latest' before any head")
        lending.decode_rate_result(
            output, "getSupplyRate" if sel == GET_SUPPLY_RATE else "getBorrowRate"
        )
        key = (comet, block)
        rates = self._rates.setdefault(key, {})
        rates["supply" if sel == GET_SUPPLY_RATE else "borrow"] = output
        if len(self._rates) > _MAX_PENDING_POOLS:
            self._rates.pop(next(iter(self._rates)))
        if "supply" not in rates or "borrow" not in rates:
            return ChainParseResult(control=True)
        del self._rates[key]
        envelope = lending.comet_rate_envelope(
            chain=self.chain,
            comet=comet,
            block_number=block,
            supply_result=rates["supply"],
            borrow_result=rates["borrow"],
            received_ms=received_ms,
            block_time_ms=block_time_ms,
        )
        return ChainParseResult(envelopes=[envelope])

    def _reserve_data(
        self,
        pool: str,
        args: bytes,
        block: int | None,
        output: bytes,
        received_ms: int,
        block_time_ms: int | None,
    ) -> ChainParseResult:
        if block is None:
            raise FrameRejected("no block: an Aave reserve read at 'latest' before any head")
        (reserve,) = _decode_args(["address"], args, "getReserveData argument")
        envelope = lending.reserve_data_envelope(
            chain=self.chain,
            pool=pool,
            reserve=str(reserve),
            block_number=block,
            result=output,
            received_ms=received_ms,
            block_time_ms=block_time_ms,
        )
        return ChainParseResult(envelopes=[envelope])

    def _pending_pool(self, address: str) -> _PendingPool:
        pending = self._pending.get(address)
        if pending is None:
            pending = self._pending[address] = _PendingPool()
            while len(self._pending) > _MAX_PENDING_POOLS:
                evicted, _ = self._pending.popitem(last=False)
                self._signalled.discard(evicted)  # listed again if it comes back
        return pending

    def _pool_metadata(self, pool: str, what: str, output: bytes) -> ChainParseResult:
        (value,) = _decode_args(["address"], output, f"{what}()")
        pending = self._pending_pool(pool)
        setattr(pending, what, str(value).lower())
        self._assemble()
        return ChainParseResult(control=True)

    def _token_metadata(self, token: str, sel: str, output: bytes) -> ChainParseResult:
        if sel == DECIMALS:
            (decimals,) = _decode_args(["uint256"], output, "decimals()")
            if decimals > 255:
                raise FrameRejected(f"bad response: decimals() {decimals} is above 255")
            self._decimals[token] = int(decimals)
        else:
            self._symbols[token] = _symbol(output)
        self._assemble()
        return ChainParseResult(control=True)

    def _token(self, address: str) -> Token | None:
        known = token_at(self.chain, address)
        if known is not None:
            return known
        decimals = self._decimals.get(address)
        symbol = self._symbols.get(address)
        if decimals is None or symbol is None:
            return None
        return Token(symbol or "T" + address[2:10].upper(), address, decimals)

    def _assemble(self) -> None:
        """Turn every pending pool whose metadata is complete into a ``Pool``."""
        for address, pending in list(self._pending.items()):
            if pending.token0 is None or pending.token1 is None or pending.factory is None:
                continue
            token0, token1 = self._token(pending.token0), self._token(pending.token1)
            if token0 is None or token1 is None:
                continue
            dex, family = dex_of(self.chain, pending.factory, pending.family or "uniswap_v2")
            self._pools[address] = Pool(
                address, self.chain, dex, family, token0, token1, base=_base(token0, token1)
            )
            del self._pending[address]
            self._signalled.discard(address)


def _base(token0: Token, token1: Token) -> Literal[0, 1]:
    """Which token is the pair's base: the other one is the preferred quote (else token1)."""
    for quote in _QUOTE_PREFERENCE:
        if token1.symbol.upper() == quote:
            return 0
        if token0.symbol.upper() == quote:
            return 1
    return 0


def _symbol(output: bytes) -> str:
    """An ERC-20 ``symbol()`` return: an ABI string, or a bytes32 (MKR, SAI); only [A-Z0-9]."""
    try:
        (text,) = abi_decode(["string"], output, strict=True)
    except Exception:  # not an ABI string: the older bytes32 symbol
        text = output[:32].rstrip(b"\0").decode("ascii", "replace")
    cleaned = "".join(ch for ch in str(text).upper() if ch.isascii() and ch.isalnum())
    return cleaned[:20]


def _decode_args(types: list[str], data: bytes, what: str) -> tuple[Any, ...]:
    try:
        return tuple(abi_decode(types, data, strict=True))
    except Exception as exc:  # eth-abi raises several unrelated types for bad words
        raise FrameRejected(f"bad response: {what}: {exc}") from None


def _rpc_error(error: Any) -> str:
    if isinstance(error, Mapping):
        return f"{error.get('code')} {str(error.get('message'))[:200]}"
    return str(error)[:200]


def _received_ms(received_ns: Any) -> int:
    if isinstance(received_ns, bool) or not isinstance(received_ns, int):
        raise FrameRejected(f"bad time: received_ns is {received_ns!r:.60}")
    received_ms = received_ns // 1_000_000
    if not 0 <= received_ms <= _MAX_RECEIVED_MS:
        raise FrameRejected(f"bad time: received_ns {received_ns} is out of range")
    return received_ms


def _quantity(value: Any, name: str) -> int:
    if not isinstance(value, str) or not value.startswith(("0x", "0X")) or len(value) < 3:
        raise FrameRejected(f"bad response: {name} is not a hex quantity: {value!r:.60}")
    try:
        return int(value[2:], 16)
    except ValueError:
        raise FrameRejected(f"bad response: {name} is not a hex quantity: {value!r:.60}") from None


def _hex(value: Any, name: str) -> bytes:
    if not isinstance(value, str) or not value.startswith(("0x", "0X")):
        raise FrameRejected(f"bad response: {name} is not 0x hex: {value!r:.60}")
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        raise FrameRejected(f"bad response: {name} is not 0x hex: {value!r:.60}") from None


def _address(value: Any, name: str) -> str:
    raw = _hex(value, name)
    if len(raw) != 20:
        raise FrameRejected(f"bad request: {name} is not a 20-byte address")
    return "0x" + raw.hex()
