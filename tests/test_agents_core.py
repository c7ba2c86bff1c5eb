"""The agents service's pure core: the live market, query answers and errors, and the checks
a published prediction passes before the platform records it."""

from __future__ import annotations

import json

import msgspec
import pytest

from lucent_platform.agents.market import LiveMarket
from lucent_platform.agents.predictions import PredictionRejected, Rejection, dead_letter, record
from lucent_platform.agents.queries import answer
from lucent_platform.analytics.rows import COLUMNS, dead_letter_row
from lucent_platform.envelope import decode_as
from lucent_platform.envelope import encode as encode_envelope
from lucent_platform.messages import ModelPrediction
from lucent_platform.processing import deadletter
from tests.agent_data import T0, enrichment, prediction, prediction_bytes, quote


def market_with(*envelopes: object) -> LiveMarket:
    market = LiveMarket()
    for envelope in envelopes:
        market.add(envelope)  # type: ignore[arg-type]
    return market


def ask(market: LiveMarket, subject: str, now: int = T0 + 1000, stale_ms: int = 30_000) -> dict:
    return json.loads(answer(market, subject, now, stale_ms=stale_ms))


def test_price_answers_latest_per_venue_and_best_bid_ask() -> None:
    market = market_with(
        quote("BTC-USDT", "binance", 60000.0, T0),
        quote("BTC-USDT", "binance", 60010.0, T0 + 100),
        quote("BTC-USDT", "kraken", 60020.0, T0 + 50, spread=4.0),
        quote("BTC-USDT", "coinbase", 59990.0, T0 + 80),
        quote("ETH-USDT", "binance", 3000.0, T0),
    )
    reply = ask(market, "agents.query.price.BTC-USDT")
    assert reply["pair"] == "BTC-USDT" and reply["lastEventMs"] == T0 + 100
    venues = {v["exchange"]: v for v in reply["venues"]}
    assert venues["binance"]["price"] == 60010.0 and venues["binance"]["ageMs"] == 900
    assert venues["binance"]["bidSize"] == 1.5 and venues["binance"]["askSize"] == 2.5
    assert reply["bestBid"] == {"exchange": "kraken", "price": 60018.0, "size": 1.5}
    assert reply["bestAsk"] == {"exchange": "coinbase", "price": 59990.5, "size": 2.5}
    assert ask(market, "agents.query.price.btc-usdt") == reply  # pairs case-insensitively


def test_an_older_update_never_replaces_a_newer_one() -> None:
    market = market_with(
        quote("BTC-USDT", "binance", 60010.0, T0 + 100), quote("BTC-USDT", "binance", 1.0, T0)
    )
    (venue,) = ask(market, "agents.query.price.BTC-USDT")["venues"]
    assert venue["price"] == 60010.0 and venue["eventTimeMs"] == T0 + 100


def test_stale_venues_are_marked_and_left_out_of_best_quotes() -> None:
    market = market_with(
        quote("BTC-USDT", "binance", 60000.0, T0),
        quote("BTC-USDT", "kraken", 61000.0, T0 + 40_000),
    )
    reply = ask(market, "agents.query.price.BTC-USDT", stale_ms=30_000)
    assert {v["exchange"]: v["stale"] for v in reply["venues"]} == {
        "binance": True, "kraken": False,
    }  # fmt: skip
    assert reply["bestBid"]["exchange"] == reply["bestAsk"]["exchange"] == "kraken"


def test_features_are_the_processors_figures_as_they_came() -> None:
    market = market_with(
        quote("BTC-USDT", "binance", 60010.0, T0 + 100),
        quote("BTC-USDT", "kraken", 60020.0, T0 + 50),
        quote("BTC-USDT", "oracle", 60000.0, T0 + 60, enriched=False),
    )
    reply = ask(market, "agents.query.features.BTC-USDT")
    venues = {v["exchange"]: v for v in reply["venues"]}
    assert set(venues) == {"binance", "kraken"}  # a venue without figures has none to give
    wire = json.loads(msgspec.json.encode(enrichment(60010.0, "binance")))
    binance = venues["binance"]
    for name in ("movingAverages", "volatility", "volatilityWindow", "crossVenue", "depth"):
        assert binance[name] == wire[name]
    assert binance["eventTimeMs"] == T0 + 100 and binance["price"] == 60010.0


@pytest.mark.parametrize(
    ("subject", "says"),
    [
        ("agents.query.price.DOGE-USDT", "unknown pair 'DOGE-USDT'"),
        ("agents.query.volume.BTC-USDT", "cannot answer 'agents.query.volume.BTC-USDT'"),
        ("agents.query.price", "cannot answer"),
        ("agents.query.price.BTC-USDT.extra", "cannot answer"),
        ("agents.query.features.ETH-USDT", "no enriched price updates for 'ETH-USDT'"),
    ],
)
def test_bad_requests_get_an_error_reply(subject: str, says: str) -> None:
    market = market_with(
        quote("BTC-USDT", "binance", 60010.0, T0), quote("ETH-USDT", "kraken", 3000.0, T0,
                                                          enriched=False),
    )  # fmt: skip
    reply = ask(market, subject)
    assert list(reply) == ["error"] and says in reply["error"]
    if "unknown pair" in says:
        assert "known: BTC-USDT, ETH-USDT" in reply["error"]


def test_an_empty_market_says_no_pair_is_known_yet() -> None:
    assert "known: none yet" in ask(LiveMarket(), "agents.query.price.BTC-USDT")["error"]


def test_a_valid_prediction_becomes_an_envelope_with_a_stable_id() -> None:
    payload = prediction_bytes("baseline", "BTC-USDT")
    envelope = record("agents.predictions.baseline.BTC-USDT", payload, T0 + 500)
    assert envelope.data == prediction("baseline", "BTC-USDT")
    assert envelope.header.message_type == "model_prediction" and envelope.header.source == "agents"
    assert envelope.header.event_time_ms == T0 and envelope.header.received_time_ms == T0 + 500
    again = record("agents.predictions.baseline.BTC-USDT", payload, T0 + 900)
    assert again.header.message_id == envelope.header.message_id
    later = record("agents.predictions.baseline.BTC-USDT",
                   prediction_bytes("baseline", "BTC-USDT", T0 + 60_000), T0)  # fmt: skip
    assert later.header.message_id != envelope.header.message_id
    assert decode_as(encode_envelope(envelope), ModelPrediction) == envelope


def test_the_predictions_workers_own_message_is_recorded_as_it_is() -> None:
    """The predictions worker's payload (its docstring's example, field for field)."""
    payload = (b'{"model": "baseline", "version": "model-20261128T230102123456Z.joblib", '
               b'"pair": "BTC-USDT", "time": 1795132860000, "interval": "1m", "horizon": 5, '
               b'"probabilityUp": 0.534, "close": 60012.35}')  # fmt: skip
    data = record("agents.predictions.baseline.BTC-USDT", payload, T0).data
    assert (data.model, data.pair, data.time, data.horizon, data.probability_up, data.close) == (
        "baseline", "BTC-USDT", 1795132860000, 5, 0.534, 60012.35,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("subject", "payload", "reason"),
    [
        ("agents.predictions.baseline", prediction_bytes("baseline", "BTC-USDT"),
         Rejection.BAD_SUBJECT),
        ("agents.predictions.baseline.BTC-USDT", b"not json", Rejection.UNDECODABLE),
        ("agents.predictions.baseline.BTC-USDT", b'{"model": "baseline"}', Rejection.UNDECODABLE),
        ("agents.predictions.baseline.BTC-USDT", b'{"model": "b", "pair": "BTC-USDT", '
         b'"time": "soon", "horizon": 5}', Rejection.UNDECODABLE),
        ("agents.predictions.baseline.ETH-USDT", prediction_bytes("baseline", "BTC-USDT"),
         Rejection.SUBJECT_MISMATCH),
        ("agents.predictions.other.BTC-USDT", prediction_bytes("baseline", "BTC-USDT"),
         Rejection.SUBJECT_MISMATCH),
        ("agents.predictions.baseline.BTC-USDT",
         prediction_bytes("baseline", "BTC-USDT", probability_up=None),
         Rejection.INVALID_PREDICTION),
        ("agents.predictions.baseline.BTC-USDT",
         prediction_bytes("baseline", "BTC-USDT", probability_up=1.5),
         Rejection.INVALID_PREDICTION),
        ("agents.predictions.baseline.BTC-USDT",
         prediction_bytes("baseline", "BTC-USDT", horizon=0), Rejection.INVALID_PREDICTION),
    ],
)  # fmt: skip
def test_malformed_predictions_are_rejected_with_a_reason(
    subject: str, payload: bytes, reason: Rejection
) -> None:
    with pytest.raises(PredictionRejected) as caught:
        record(subject, payload, T0)
    assert caught.value.reason is reason
    letter = deadletter.decode(
        deadletter.encode(dead_letter(subject, 42, payload, caught.value, T0))
    )
    assert (letter.reason, letter.source_topic, letter.source_offset) == (reason, subject, 42)
    assert letter.original_base64 == payload and letter.message_type == "model_prediction"
    assert dead_letter_row(letter)[COLUMNS["dead_letters"].index("source")] == "agents"


def test_a_value_alone_is_a_prediction() -> None:
    payload = prediction_bytes("vol", "ETH-USDT", probability_up=None, value=0.021)
    assert record("agents.predictions.vol.ETH-USDT", payload, T0).data.value == 0.021


def test_the_predictions_workers_struct_is_recorded_field_for_field() -> None:
    from lucent_platform.models.predictor import Prediction
    from lucent_platform.models.predictor import encode as encode_prediction

    sent = Prediction("baseline", "model-1.joblib", "ETH-USDT", T0, "1m", 15, 0.47, 3001.5)
    data = record("agents.predictions.baseline.ETH-USDT", encode_prediction(sent), T0).data
    assert msgspec.structs.asdict(sent) == {
        name: getattr(data, name) for name in msgspec.structs.asdict(sent)
    }
