"""Pair names normalised across venues: ``ETH/USDC``, ``XETHZUSD``, ``BTCUSDT`` → ``ETH-USDC``…

Our pairs are ``BASE-QUOTE``, upper-case ``[A-Z0-9]``, with the currency codes ccxt uses
(Kraken's ``XBT``/``XXBT`` is ``BTC``, ``XDG`` is ``DOGE``). Three kinds of input:

- a ccxt unified symbol: ``ETH/USDC``, ``BTC/USDT:USDT`` (a swap; the settle currency is kept
  in ``Instrument.settle``), ``BTC/USD:BTC-211231`` (a dated future, ``Instrument.expiry``);
- a pair already written with a separator: ``ETH-USDC``, ``eth_usdc``, Kraken's ``XBT/USD``;
- a venue's concatenated market id with no separator, ``BTCUSDT`` or ``XETHZUSD``: the quote is
  the longest known quote asset the id ends with (``QUOTE_ASSETS``), which is how a recording of
  an instrument missing from our markets snapshots still replays.

Venue-specific renames mirror ccxt's ``commonCurrencies`` (a test keeps the two equal), so the
fallback agrees with what ccxt makes of the same market when it knows it. Pure: no ccxt here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PAIR_PATTERN = re.compile(r"[A-Z0-9]+-[A-Z0-9]+")
_CODE = re.compile(r"[A-Z0-9]+")

QUOTE_ASSETS: tuple[str, ...] = (
    # stablecoins and fiat first in spirit; order does not matter, the longest match wins
    "USDT", "USDC", "BUSD", "TUSD", "USDP", "FDUSD", "DAI", "PAX", "UST", "USDS",
    "USD", "EUR", "GBP", "AUD", "CAD", "CHF", "JPY", "TRY", "BRL", "RUB", "UAH", "NGN",
    "ZAR", "IDRT", "BIDR", "BVND", "PLN", "RON", "ARS", "MXN",
    "BTC", "XBT", "ETH", "BNB", "TRX", "XRP", "DOGE", "DOT", "SOL",
)  # fmt: skip
"""Quote assets tried at the end of a concatenated market id (see ``split_market_id``)."""

_QUOTES_LONGEST_FIRST = tuple(sorted(set(QUOTE_ASSETS), key=lambda q: (-len(q), q)))
MIN_BASE = 3  # a split leaving a shorter base is a last resort: BATUSD is BAT/USD, not BA/TUSD

COMMON_ALIASES: dict[str, str] = {"XBT": "BTC", "BCHSV": "BSV"}
"""ccxt's base ``commonCurrencies``: every venue renames these."""

VENUE_ALIASES: dict[str, dict[str, str]] = {
    "binance": {"BCC": "BCC", "YOYO": "YOYOW"},
    "binanceus": {"BCC": "BCC", "YOYO": "YOYOW"},
    "coinbase": {"CGLD": "CELO"},
    "kraken": {
        "LUNA": "LUNC", "LUNA2": "LUNA", "REPV2": "REP", "UST": "USTC",
        "XDG": "DOGE", "FEE": "KFEE", "XETC": "ETC", "XETH": "ETH", "XLTC": "LTC",
        "XMLN": "MLN", "XREP": "REP", "XXBT": "BTC", "XXDG": "DOGE", "XXLM": "XLM",
        "XXMR": "XMR", "XXRP": "XRP", "XZEC": "ZEC", "ZAUD": "AUD", "ZCAD": "CAD",
        "ZEUR": "EUR", "ZGBP": "GBP", "ZJPY": "JPY", "ZUSD": "USD",
    },
}  # fmt: skip
"""Per-venue renames, as ccxt's exchange classes define ``commonCurrencies``.

One deliberate difference: ccxt's Kraken also renames ``REP`` to ``REPV1``, but Kraken's v1
pair names write its ``XREP`` asset as ``REP`` (``REP/ETH``), which ccxt itself calls ``REP``.
"""

_KRAKEN_LEGACY = frozenset(
    code for code in VENUE_ALIASES["kraken"] if code[0] in "XZ" and len(code) == 4
)


class PairError(ValueError):
    """A symbol or market id that cannot be made into a ``BASE-QUOTE`` pair."""


@dataclass(frozen=True)
class Instrument:
    """What a symbol names: ``base``/``quote`` codes, plus ``settle``/``expiry`` for derivatives."""

    base: str
    quote: str
    settle: str | None = None
    expiry: str | None = None

    @property
    def pair(self) -> str:
        """``BASE-QUOTE``: ``BTC/USDT:USDT`` and ``BTC/USDT`` share the pair ``BTC-USDT``."""
        return f"{self.base}-{self.quote}"


def currency_code(code: str, venue: str | None = None) -> str:
    """A venue's currency code as ccxt names it: ``currency_code("XXBT", "kraken")`` → ``BTC``."""
    upper = code.strip().upper()
    aliases = VENUE_ALIASES.get(venue or "", {})
    return aliases.get(upper, COMMON_ALIASES.get(upper, upper))


def parse_symbol(symbol: str, venue: str | None = None) -> Instrument:
    """Read a ccxt unified symbol or a separated pair into an ``Instrument``.

    ``BTC/USDT:USDT`` → ``Instrument("BTC", "USDT", settle="USDT")``; ``BTC/USD:BTC-211231`` →
    ``Instrument("BTC", "USD", settle="BTC", expiry="211231")``; ``XBT/USD`` (Kraken) →
    ``Instrument("BTC", "USD")``. Raises ``PairError`` when it is not such a symbol.
    """
    if not isinstance(symbol, str):
        raise PairError(f"a symbol must be text, got {type(symbol).__name__}")
    text = symbol.strip()
    settle = expiry = None
    if ":" in text:
        text, _, derivative = text.partition(":")
        settle, _, expiry_text = derivative.partition("-")
        settle = _code(settle, symbol, venue)
        expiry = expiry_text or None
    for separator in ("/", "-", "_", " "):
        if separator in text:
            base, _, quote = text.partition(separator)
            return Instrument(
                _code(base, symbol, venue), _code(quote, symbol, venue), settle, expiry
            )
    raise PairError(f"{symbol!r} has no base/quote separator")


def split_market_id(market_id: str, venue: str | None = None) -> Instrument:
    """Split a concatenated venue market id by its quote asset: ``BTCUSDT`` → BTC, USDT.

    The longest quote asset in ``QUOTE_ASSETS`` that the id ends with wins (``BNBBUSD`` is
    BNB/BUSD, not BNBB/USD) as long as at least ``MIN_BASE`` characters are left for the base
    (``BATUSD`` is BAT/USD, not BA/TUSD); failing that, the longest leaving any base. Kraken's
    classic ids end with a four-letter legacy code (``XETHZUSD``, ``USDTZUSD``, ``XETHXXBT``).
    Raises ``PairError``.
    """
    if not isinstance(market_id, str):
        raise PairError(f"a market id must be text, got {type(market_id).__name__}")
    text = market_id.strip().upper()
    if venue == "kraken" and text[-4:] in _KRAKEN_LEGACY and len(text) - 4 >= MIN_BASE:
        return Instrument(_code(text[:-4], market_id, venue), _code(text[-4:], market_id, venue))
    for min_base in (MIN_BASE, 1):
        for quote in _QUOTES_LONGEST_FIRST:
            if text.endswith(quote) and len(text) - len(quote) >= min_base:
                base = text[: -len(quote)]
                return Instrument(_code(base, market_id, venue), _code(quote, market_id, venue))
    raise PairError(f"{market_id!r} does not end with a known quote asset")


def instrument_for(text: str, venue: str | None = None) -> Instrument:
    """Any symbol, separated pair or concatenated market id as an ``Instrument``."""
    if not isinstance(text, str):
        raise PairError(f"a symbol must be text, got {type(text).__name__}")
    if any(separator in text for separator in "/-_: "):
        return parse_symbol(text, venue)
    return split_market_id(text, venue)


def normalize_pair(text: str, venue: str | None = None) -> str:
    """Our ``BASE-QUOTE`` pair for any symbol or market id; raises ``PairError`` otherwise.

    >>> normalize_pair("ETH/USDC"), normalize_pair("XETHZUSD", "kraken")
    ('ETH-USDC', 'ETH-USD')
    >>> normalize_pair("BTC/USDT:USDT"), normalize_pair("BTCUSDT")
    ('BTC-USDT', 'BTC-USDT')
    """
    return instrument_for(text, venue).pair


def _code(part: str, symbol: str, venue: str | None) -> str:
    code = currency_code(part, venue)
    if not _CODE.fullmatch(code):
        raise PairError(f"{symbol!r}: currency {part!r} is not made of A-Z and 0-9")
    return code
