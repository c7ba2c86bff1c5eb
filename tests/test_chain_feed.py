"""The chain feed against a local JSON-RPC node serving recorded real logs (issue 9).

The node (``tests/fixtures/jsonrpc.py``) holds the recorded logs of Ethereum block 11017338
(all 280, with the block's real hash and time) and of the Aave v1 liquidation block 10673175;
the feed polls it exactly as it polls a real node. Expected envelopes are those the chain
connector gives for the same recorded logs, so the test checks the feed's I/O — ranges,
confirmations, reorgs, back-off, metadata calls — not the decoders (tested on their own).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from lucent_platform.chains.config import ChainConfig, chains_config
from lucent_platform.chains.connector import ChainConnector, ChainFrame
from lucent_platform.config import Settings
from lucent_platform.envelope import Envelope
from streaming.feeds.chain import ChainFeed, ChainMismatch
from streaming.feeds.live import Backoff
from tests.fixtures.jsonrpc import CHAIN_DIR, JsonRpcNode, recorded_logs

BLOCK = 11017338
UNISWAP_LOGS = "uniswap_v2/logs_block_11017338.json"
CHAINLINK_LOGS = "chainlink/logs_AnswerUpdated.json"
USDC_WETH = "0xb4e16d0168e52d35cacd2c6185b44281ec28c9dc"
SUSHI_WETH = "0x795065dcc9f64b5614c407a6efdc400da6221fb0"
YFI_ETH_FEED = "0x4a03707a1bfefc2836a69b1a6a6bd752270041a9"


def config(node: JsonRpcNode, **fields: Any) -> ChainConfig:
    values = {"rpc_url": node.url, "poll_seconds": 0.05, "stale_seconds": 30, **fields}
    return chains_config({"ethereum": values})["ethereum"]


def expected(logs: list[dict[str, Any]], node: JsonRpcNode) -> list[Envelope[Any]]:
    """What the connector gives for these logs, their blocks' times known."""
    connector = ChainConnector("ethereum")
    out: list[Envelope[Any]] = []
    for log in logs:
        number = int(log["blockNumber"], 16)
        connector.learn_block(number, node.timestamp(number), node.block_hash(number))
        out += connector.parse(ChainFrame("ethereum", time.time_ns(), log)).envelopes
    return out


def ids(envelopes: list[Envelope[Any]]) -> list[str]:
    return [e.header.message_id for e in envelopes]


@contextmanager
def running(feed: ChainFeed) -> Iterator[threading.Thread]:
    """The feed in a thread until the block ends; errors other than a stop are re-raised."""
    stop = threading.Event()
    errors: list[BaseException] = []

    def main() -> None:
        try:
            asyncio.run(feed.run(stop.is_set))
        except BaseException as exc:  # handed to the test thread
            errors.append(exc)

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        stop.set()
        thread.join(15)
    if errors:
        raise errors[0]


def wait_for(check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)


def quick(feed_config: ChainConfig, sink: list[Envelope[Any]], **kwargs: Any) -> ChainFeed:
    return ChainFeed(feed_config, sink=sink.append, backoff=Backoff(base=0.05, cap=0.2), **kwargs)


# --- the recorded block through the feed --------------------------------------------------------


@pytest.mark.slow
def test_the_recorded_block_is_published_to_the_raw_topics(
    jsonrpc_node: JsonRpcNode, own_broker: str, settings: Settings
) -> None:
    from lucent_platform.adapters import kafka
    from lucent_platform.envelope import decode
    from lucent_platform.topics import raw_topic
    from streaming.publisher import Publisher

    logs = recorded_logs(UNISWAP_LOGS)
    jsonrpc_node.add_logs(logs)
    jsonrpc_node.set_head(BLOCK + 12)
    wanted = expected(_registered(logs), jsonrpc_node)
    publisher = Publisher(settings, own_broker)
    feed = ChainFeed(config(jsonrpc_node, start_block=BLOCK - 3), sink=publisher.publish_envelope)
    with running(feed):
        wait_for(lambda: feed.gauges.get("processed_block") == BLOCK)
    assert publisher.flush() == 0
    topics = {raw_topic(e.header.message_type, e.data) for e in wanted}
    got = [
        decode(record.value or b"")
        for topic in sorted(topics)
        for record in kafka.read_topic(settings, own_broker, topic)
    ]
    assert sorted(ids(got)) == sorted(ids(wanted))
    assert len(wanted) > 10  # the registry's USDC/WETH, WETH/USDT, DAI/WETH and SushiSwap pools
    by_id = {e.header.message_id: e for e in got}
    for envelope in wanted:
        assert by_id[envelope.header.message_id].data == envelope.data
        assert by_id[envelope.header.message_id].header.event_time_ms == 1602193349000
    figures = feed.figures()  # counts and gauges in one place, for a metrics exporter
    assert (figures["block_lag"], figures["head"], figures["processed_block"]) == (
        12,
        BLOCK + 12,
        BLOCK,
    )
    assert figures["logs"] == len(_registered(logs)) and figures["blocks"] == 4
    methods = jsonrpc_node.methods()
    assert methods[0] == "eth_chainId"
    assert {"eth_blockNumber", "eth_getLogs", "eth_getBlockByNumber"} <= set(methods)


def test_confirmations_hold_the_newest_blocks_back(jsonrpc_node: JsonRpcNode) -> None:
    logs = recorded_logs(UNISWAP_LOGS)
    jsonrpc_node.add_logs(logs)
    jsonrpc_node.set_head(BLOCK + 11)  # block 11017338 has 11 confirmations, not 12
    sink: list[Envelope[Any]] = []
    feed = quick(config(jsonrpc_node, start_block=BLOCK - 1, confirmations=12), sink)
    with running(feed):
        wait_for(lambda: feed.gauges.get("processed_block") == BLOCK - 1)
        time.sleep(0.3)
        assert sink == []
        jsonrpc_node.set_head(BLOCK + 12)
        wait_for(lambda: feed.gauges.get("processed_block") == BLOCK)
    assert sorted(ids(sink)) == sorted(ids(expected(_registered(logs), jsonrpc_node)))


def test_a_reorg_retracts_the_orphaned_logs_and_publishes_the_new_branch(
    jsonrpc_node: JsonRpcNode, own_broker: str, settings: Settings
) -> None:
    from lucent_platform.adapters import kafka
    from lucent_platform.envelope import decode
    from lucent_platform.topics import raw_topic
    from streaming.publisher import Publisher

    logs = recorded_logs(UNISWAP_LOGS)
    usdc_weth = [log for log in logs if log["address"] == USDC_WETH]
    sushi = [log for log in logs if log["address"] == SUSHI_WETH]
    jsonrpc_node.add_logs(usdc_weth)
    jsonrpc_node.set_head(BLOCK + 2)
    sink: list[Envelope[Any]] = []
    publisher = Publisher(settings, own_broker)

    def publish(envelope: Envelope[Any]) -> None:
        sink.append(envelope)
        publisher.publish_envelope(envelope)

    feed = ChainFeed(
        config(jsonrpc_node, start_block=BLOCK - 1, confirmations=0),
        sink=publish,
        backoff=Backoff(base=0.05, cap=0.2),
    )
    with running(feed):
        wait_for(lambda: feed.gauges.get("processed_block") == BLOCK + 2)
        first = list(sink)
        assert len(first) == len(expected(usdc_weth, jsonrpc_node)) > 0
        # The block is replaced by one holding the SushiSwap pool's logs instead.
        jsonrpc_node.reorg(BLOCK, sushi)
        wait_for(lambda: feed.counts["reorgs"] == 1 and feed.gauges["processed_block"] == BLOCK + 2)
    retracted = [e for e in sink[len(first) :] if "retracted" in (e.metadata.quality_flags or [])]
    assert sorted(ids(retracted)) == sorted(ids(first))  # same ids, flagged retracted
    assert all(e.metadata.data_quality == "low" for e in retracted)
    fresh = [e for e in sink[len(first) :] if e not in retracted]
    new_branch = expected(sushi, jsonrpc_node)
    assert sorted(ids(fresh)) == sorted(ids(new_branch))
    assert {e.header.event_time_ms for e in fresh} == {jsonrpc_node.timestamp(BLOCK) * 1000}
    assert feed.counts["retracted_logs"] == len(usdc_weth)
    # On the raw topics: each original, then its retraction under the same id, and the new branch.
    assert publisher.flush() == 0
    topics = sorted({raw_topic(e.header.message_type, e.data) for e in sink})
    published = [
        decode(record.value or b"")
        for topic in topics
        for record in kafka.read_topic(settings, own_broker, topic)
    ]
    assert sorted(ids(published)) == sorted(ids(sink))
    for envelope in first:
        twice = [e for e in published if e.header.message_id == envelope.header.message_id]
        assert [("retracted" in (e.metadata.quality_flags or [])) for e in twice] == [False, True]


def test_a_failing_node_is_backed_off_and_nothing_is_lost_or_doubled(
    jsonrpc_node: JsonRpcNode,
) -> None:
    logs = recorded_logs(UNISWAP_LOGS, "aave_v1/logs_liquidation_tx.json")
    jsonrpc_node.add_logs(logs)
    jsonrpc_node.set_head(BLOCK - 340_000)  # before both blocks
    sink: list[Envelope[Any]] = []
    start = 10673175 - 2
    feed = quick(
        config(jsonrpc_node, start_block=start, confirmations=0, max_block_range=100_000), sink
    )
    with running(feed):
        wait_for(lambda: feed.gauges.get("processed_block") == BLOCK - 340_000)
        jsonrpc_node.fail(3)  # HTTP 500 three times
        jsonrpc_node.set_head(10673175 + 5)
        wait_for(lambda: feed.counts["reconnects"] >= 1)
        jsonrpc_node.drop(2)  # then two connections closed without an answer
        jsonrpc_node.set_head(BLOCK + 1)
        wait_for(lambda: feed.gauges.get("processed_block") == BLOCK + 1)
    assert feed.counts["reconnects"] >= 2
    want = expected(_registered(logs), jsonrpc_node)
    assert len(ids(sink)) == len(set(ids(sink)))  # no duplicates
    assert sorted(ids(sink)) == sorted(ids(want))  # no loss


def test_a_head_that_stops_moving_is_detected_as_stale(jsonrpc_node: JsonRpcNode) -> None:
    jsonrpc_node.set_head(100)
    feed = quick(config(jsonrpc_node, stale_seconds=0.3, confirmations=0), [])
    with running(feed):
        wait_for(lambda: feed.counts["stale"] >= 1)
    assert feed.counts["reconnects"] >= 1


def test_a_node_of_another_chain_stops_the_feed_with_a_clear_error(
    jsonrpc_node: JsonRpcNode,
) -> None:
    jsonrpc_node.chain_id = 42161
    feed = quick(config(jsonrpc_node), [])
    with pytest.raises(ChainMismatch, match=r"chain id 42161, not 1 \(ethereum\)"):
        asyncio.run(feed.run(lambda: False))


def test_too_many_results_halves_the_block_range(jsonrpc_node: JsonRpcNode) -> None:
    logs = recorded_logs(UNISWAP_LOGS, "aave_v1/logs_liquidation_tx.json")
    jsonrpc_node.add_logs(logs)
    ours = _registered(logs)
    per_block = [
        sum(1 for log in ours if log["blockNumber"] == b) for b in {"0xa2dc17", "0xa81c7a"}
    ]
    jsonrpc_node.log_limit = max(per_block)  # one block fits, the two together do not
    jsonrpc_node.set_head(BLOCK)
    sink: list[Envelope[Any]] = []
    feed = quick(
        config(jsonrpc_node, start_block=10673175, confirmations=0, max_block_range=10**6), sink
    )
    with running(feed):
        wait_for(lambda: feed.gauges.get("processed_block") == BLOCK)
    assert feed.counts["range_halved"] >= 1
    assert sorted(ids(sink)) == sorted(ids(expected(_registered(logs), jsonrpc_node)))


def test_an_unknown_pool_is_priced_after_its_metadata_calls(jsonrpc_node: JsonRpcNode) -> None:
    from lucent_platform.chains import connector as calls

    yfi_weth = "0x2fdbadf3c4d5a8666bc06645b8358ab803996e28"  # Uniswap V2 YFI/WETH
    logs = [log for log in recorded_logs(UNISWAP_LOGS) if log["address"] == yfi_weth]
    jsonrpc_node.add_logs(logs)
    word = "0x" + "00" * 12
    jsonrpc_node.calls.update(
        {
            (yfi_weth, calls.TOKEN0): word + "0bc529c00c6401aef6d220be8c6ea1667f6ad93e",  # YFI
            (yfi_weth, calls.TOKEN1): word + "c02aaa39b223fe8d0a0e5c4f27ead9083c756cc2",  # WETH
            (yfi_weth, calls.FACTORY): word + "5c69bee701ef814a2b6a3edd4b1652cb9cc5aa6f",
        }
    )
    jsonrpc_node.set_head(BLOCK)
    sink: list[Envelope[Any]] = []
    feed = quick(
        config(jsonrpc_node, start_block=BLOCK, confirmations=0, addresses=[yfi_weth]), sink
    )
    with running(feed):
        wait_for(lambda: feed.gauges.get("processed_block") == BLOCK)
    assert feed.counts["metadata_calls"] == 3  # both tokens are in the registry: no decimals()
    assert len(sink) == len(logs) > 0
    for envelope in sink:
        assert "unknown_pool" not in (envelope.metadata.quality_flags or [])
        assert envelope.data.pair == "YFI-WETH"
        assert envelope.data.exchange == "uniswap-v2"
    prices = [e.data.price for e in sink if e.header.message_type == "price_update"]
    # The same block's Chainlink YFI/ETH round says 48.56 ETH: the pool agrees within 3 %.
    assert prices and all(abs(p / 48.5649 - 1) < 0.03 for p in prices)


def test_oracle_rounds_are_polled_once_per_new_block(jsonrpc_node: JsonRpcNode) -> None:
    from eth_abi import encode

    from lucent_platform.chains import connector as calls

    # The recorded round 168 (answer and updatedAt from the recorded AnswerUpdated log).
    answer = encode(
        ["uint80", "int256", "uint256", "uint256", "uint80"],
        [168, 48564850663303835000, 1602193349, 1602193349, 168],
    )
    jsonrpc_node.calls[(YFI_ETH_FEED, calls.LATEST_ROUND_DATA)] = "0x" + answer.hex()
    jsonrpc_node.set_head(BLOCK)
    sink: list[Envelope[Any]] = []
    feed = quick(
        config(jsonrpc_node, start_block=BLOCK, confirmations=0, sources=["oracles"]), sink
    )
    with running(feed):
        wait_for(lambda: feed.gauges.get("processed_block") == BLOCK)
        time.sleep(0.3)  # several polls of the same block: one call
    rounds = [e for e in sink if e.header.message_type == "price_update"]
    assert len(rounds) == 1 and rounds[0].data.pair == "YFI-ETH"
    assert abs(rounds[0].data.price - 48.564850663303835) < 1e-9
    assert feed.counts["polled_calls"] == 1


def _registered(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The logs the default filter asks for: our topics, the registry's contracts."""
    from lucent_platform.chains.config import known_contracts

    wanted = set(
        known_contracts("ethereum", ["dex", "oracles", "lending", "liquidations", "governance"])
    )
    topics = set(config_topics())
    return [log for log in logs if log["address"] in wanted and log["topics"][0] in topics]


def config_topics() -> list[str]:
    return chains_config({"ethereum": {"rpc_url": "http://x"}})["ethereum"].topics


@pytest.mark.parametrize(
    ("chains", "named"),
    [
        ({"etherium": {"rpc_url": "http://n"}}, "unknown chain 'etherium'"),
        ({"ethereum": {"rpc": "http://n"}}, "unknown chains 'ethereum' config field(s) ['rpc']"),
        ({"ethereum": {}}, "rpc_url"),
        ({"ethereum": {"rpc_url": "http://n", "confirmations": "many"}}, "confirmations"),
        ({"ethereum": {"rpc_url": "http://n", "sources": ["dax"]}}, "unknown source(s) ['dax']"),
        ({"ethereum": {"rpc_url": "ws://n"}}, "rpc_url must be an http(s) URL"),
    ],
)
def test_a_wrong_chains_setting_stops_startup_naming_it(chains: Any, named: str) -> None:
    from lucent_platform.config import SettingsError, load_settings

    with pytest.raises(SettingsError, match="LUCENT_CHAINS") as error:
        load_settings(_env_file=None, chains=chains)
    assert named in str(error.value)


def test_chains_defaults_per_chain_and_the_registry_filter() -> None:
    chains = chains_config({"ethereum": {"rpc_url": "http://n"}, "base": {"rpc_url": "http://b"}})
    ethereum, base = chains["ethereum"], chains["base"]
    assert (ethereum.confirmations, ethereum.poll_seconds, ethereum.chain_id) == (12, 4.0, 1)
    assert (base.confirmations, base.chain_id) == (20, 8453)
    assert USDC_WETH in ethereum.log_addresses and YFI_ETH_FEED in ethereum.log_addresses
    assert ethereum.feeds == [YFI_ETH_FEED]
    everything = chains_config({"ethereum": {"rpc_url": "http://n", "addresses": []}})
    assert everything["ethereum"].log_addresses == []  # no address filter


def test_websocket_subscriptions_deliver_logs_and_the_nodes_removed_logs(
    jsonrpc_node: JsonRpcNode,
) -> None:
    logs = recorded_logs(UNISWAP_LOGS)
    usdc_weth = [log for log in logs if log["address"] == USDC_WETH]
    sushi = [log for log in logs if log["address"] == SUSHI_WETH]
    jsonrpc_node.add_logs(usdc_weth)
    jsonrpc_node.set_head(BLOCK - 1)
    sink: list[Envelope[Any]] = []
    feed_config = config(jsonrpc_node, ws_url=jsonrpc_node.ws_url, start_block=BLOCK - 1)
    feed = quick(feed_config, sink)
    first = expected(usdc_weth, jsonrpc_node)
    second = expected(sushi, jsonrpc_node)
    with running(feed):
        wait_for(
            lambda: (
                feed.gauges.get("processed_block") == BLOCK - 1
                and jsonrpc_node.methods().count("eth_subscribe") == 2
            )
        )
        jsonrpc_node.set_head(BLOCK)  # the block's logs come over the websocket, unconfirmed
        wait_for(lambda: len(sink) == len(first))
        jsonrpc_node.reorg(BLOCK, sushi)  # the node sends the orphaned logs as removed
        wait_for(lambda: len(sink) == 2 * len(first) + len(second))
    assert ids(sink[: len(first)]) == ids(first)
    assert all(e.header.event_time_ms == 1602193349000 for e in sink)
    retracted = sink[len(first) : 2 * len(first)]
    assert sorted(ids(retracted)) == sorted(ids(first))
    assert all("retracted" in (e.metadata.quality_flags or []) for e in retracted)
    assert sorted(ids(sink[2 * len(first) :])) == sorted(ids(second))
    assert jsonrpc_node.methods().count("eth_getLogs") == 1  # only the catch-up at connect


def test_a_websocket_reconnect_reads_the_blocks_missed_meanwhile(jsonrpc_node: JsonRpcNode) -> None:
    logs = [log for log in recorded_logs(UNISWAP_LOGS) if log["address"] == USDC_WETH]
    jsonrpc_node.add_logs(logs)
    jsonrpc_node.set_head(BLOCK - 1)
    sink: list[Envelope[Any]] = []
    feed = quick(config(jsonrpc_node, ws_url=jsonrpc_node.ws_url, start_block=BLOCK - 1), sink)
    with running(feed):
        wait_for(lambda: jsonrpc_node.methods().count("eth_subscribe") == 2)
        jsonrpc_node.close_websockets()
        jsonrpc_node.set_head(BLOCK)  # mined while the feed is disconnected
        wait_for(lambda: jsonrpc_node.methods().count("eth_subscribe") == 4)
        wait_for(lambda: feed.gauges.get("processed_block") == BLOCK)
        time.sleep(0.2)
    assert feed.counts["reconnects"] >= 1
    assert sorted(ids(sink)) == sorted(ids(expected(logs, jsonrpc_node)))  # once each


def test_the_sources_together_ask_for_every_event_the_connector_decodes() -> None:
    from lucent_platform.chains.config import SOURCE_TOPICS
    from lucent_platform.chains.routes import LOG_TOPICS

    asked = ["0x" + topic.hex() for topics in SOURCE_TOPICS.values() for topic in topics]
    assert sorted(asked) == sorted(LOG_TOPICS)  # each once: a new route needs a source
    base = chains_config({"base": {"rpc_url": "http://n", "sources": ["bridges"]}})["base"]
    assert base.log_addresses == ["0x4200000000000000000000000000000000000010"]


def test_compound_v3_rates_are_polled_at_the_block_utilization(jsonrpc_node: JsonRpcNode) -> None:
    """Built returns (no recorded Comet eth_call was found): utilization 85 %, per-second
    rates of about 3.9 % and 5.2 % a year, encoded with eth-abi as the contract returns them."""
    from eth_abi import encode

    from lucent_platform.chains import connector as calls
    from lucent_platform.chains.rates import per_second_to_apy

    comet = "0xc3d688b66703497daa19211eedff47f25384cdc3"  # cUSDCv3, in the registry
    utilization = encode(["uint256"], [850_000_000_000_000_000])
    supply, borrow = 1_200_000_000, 1_600_000_000
    jsonrpc_node.calls.update(
        {
            (comet, calls.GET_UTILIZATION): "0x" + utilization.hex(),
            (comet, calls.GET_SUPPLY_RATE + utilization.hex()): "0x"
            + encode(["uint64"], [supply]).hex(),
            (comet, calls.GET_BORROW_RATE + utilization.hex()): "0x"
            + encode(["uint64"], [borrow]).hex(),
        }
    )
    jsonrpc_node.set_head(BLOCK)
    sink: list[Envelope[Any]] = []
    feed = quick(
        config(jsonrpc_node, start_block=BLOCK, confirmations=0, sources=["lending"]), sink
    )
    with running(feed):
        wait_for(lambda: len(sink) == 1)
    (rate,) = sink
    assert rate.header.message_type == "yield_rate"
    assert (rate.data.pool, rate.data.block_number) == ("usdc-comet", BLOCK)
    assert abs(rate.data.supply_apy - per_second_to_apy(supply) * 100) < 1e-9
    assert abs(rate.data.borrow_apy - per_second_to_apy(borrow) * 100) < 1e-9
    assert rate.header.event_time_ms == 1602193349000
    assert feed.counts["polled_calls"] == 3  # getUtilization, then the two rates


def test_a_reorg_shallower_than_the_confirmations_never_reaches_the_sink(
    jsonrpc_node: JsonRpcNode,
) -> None:
    logs = recorded_logs(UNISWAP_LOGS)
    usdc_weth = [log for log in logs if log["address"] == USDC_WETH]
    sushi = [log for log in logs if log["address"] == SUSHI_WETH]
    jsonrpc_node.add_logs(usdc_weth)
    jsonrpc_node.set_head(BLOCK + 1)  # block 11017338 has 1 confirmation of the 3 asked
    sink: list[Envelope[Any]] = []
    feed = quick(config(jsonrpc_node, start_block=BLOCK - 2, confirmations=3), sink)
    with running(feed):
        wait_for(lambda: feed.gauges.get("processed_block") == BLOCK - 2)
        jsonrpc_node.reorg(BLOCK, sushi)  # replaced before it was confirmed
        jsonrpc_node.set_head(BLOCK + 3)
        wait_for(lambda: feed.gauges.get("processed_block") == BLOCK)
    assert feed.counts["reorgs"] == 0
    assert sorted(ids(sink)) == sorted(ids(expected(sushi, jsonrpc_node)))  # only the new branch


def test_the_node_urls_api_key_never_reaches_the_logs(
    jsonrpc_node: JsonRpcNode, caplog: pytest.LogCaptureFixture
) -> None:
    keyed = jsonrpc_node.url + "v3/0123secretkey"  # as providers put keys in the path
    jsonrpc_node.set_head(100)
    jsonrpc_node.fail(2)
    feed = quick(config(jsonrpc_node, rpc_url=keyed, confirmations=0), [])
    with caplog.at_level("DEBUG"), running(feed):
        wait_for(lambda: feed.counts["reconnects"] >= 2 and "processed_block" in feed.gauges)
    assert "HTTP 500" in caplog.text and "127.0.0.1" in caplog.text
    assert "secretkey" not in caplog.text
    jsonrpc_node.chain_id = 10
    with pytest.raises(ChainMismatch) as error:
        asyncio.run(quick(config(jsonrpc_node, rpc_url=keyed), []).run(lambda: False))
    assert "secretkey" not in str(error.value)


def test_a_failure_inside_a_block_repeats_none_of_its_logs(jsonrpc_node: JsonRpcNode) -> None:
    """Two unknown pools in one block: the second one's metadata call fails after the first
    pool's logs were sent; the retry sends the rest of the block, nothing twice."""
    from lucent_platform.chains import connector as calls

    uniswap, sushi = (
        "0x2fdbadf3c4d5a8666bc06645b8358ab803996e28",
        "0x088ee5007c98a9677165d78dd2109ae4a3d04d0c",
    )
    logs = [log for log in recorded_logs(UNISWAP_LOGS) if log["address"] in (uniswap, sushi)]
    jsonrpc_node.add_logs(logs)
    word = "0x" + "00" * 12
    for pool, factory in ((uniswap, "5c69bee701ef814a2b6a3edd4b1652cb9cc5aa6f"),
                          (sushi, "c0aee478e3658e2610c5f7a4a2e1777ce9e4f2ac")):  # fmt: skip
        jsonrpc_node.calls.update(
            {  # the tokens are those of the pools' recorded transfers: YFI < WETH
                (pool, calls.TOKEN0): word + "0bc529c00c6401aef6d220be8c6ea1667f6ad93e",
                (pool, calls.TOKEN1): word + "c02aaa39b223fe8d0a0e5c4f27ead9083c756cc2",
                (pool, calls.FACTORY): word + factory,
            }
        )
    jsonrpc_node.set_head(BLOCK)
    jsonrpc_node.fail(1, method="eth_call", after=1)  # the second pool's metadata batch
    sink: list[Envelope[Any]] = []
    feed_config = config(
        jsonrpc_node, start_block=BLOCK, confirmations=0, addresses=[uniswap, sushi]
    )
    feed = quick(feed_config, sink)
    with running(feed):
        wait_for(lambda: feed.gauges.get("processed_block") == BLOCK)
    assert feed.counts["reconnects"] == 1
    assert len(ids(sink)) == len(set(ids(sink))) == len(logs)  # each log once
    assert all(e.data.pair == "YFI-WETH" for e in sink)
    assert not any("unknown_pool" in (e.metadata.quality_flags or []) for e in sink)


def test_a_restarted_feed_resumes_from_its_checkpoint(
    jsonrpc_node: JsonRpcNode, tmp_path: Any
) -> None:
    liquidation_block = 10673175
    jsonrpc_node.add_logs(recorded_logs(UNISWAP_LOGS, "aave_v1/logs_liquidation_tx.json"))
    jsonrpc_node.set_head(liquidation_block + 1)
    checkpoint = tmp_path / "chains" / "ethereum.json"
    settings = config(jsonrpc_node, start_block=liquidation_block, confirmations=0)
    before: list[Envelope[Any]] = []
    first = ChainFeed(settings, sink=before.append, checkpoint=checkpoint)
    with running(first):
        wait_for(lambda: first.gauges.get("processed_block") == liquidation_block + 1)
    assert before and {e.data.block_number for e in before} == {liquidation_block}
    # Down while the chain moves on to the Uniswap block; start_block is only for a first start.
    jsonrpc_node.set_head(BLOCK + 1)
    after: list[Envelope[Any]] = []
    second = ChainFeed(settings, sink=after.append, checkpoint=checkpoint)
    with running(second):
        wait_for(lambda: second.gauges.get("processed_block") == BLOCK + 1)
    assert {e.data.block_number for e in after} == {BLOCK}  # nothing missed, nothing repeated
    saved = json.loads(checkpoint.read_text())
    assert (
        saved["next_block"] == BLOCK + 2
        and [BLOCK, jsonrpc_node.block_hash(BLOCK)] in saved["blocks"]
    )


def test_an_unreadable_checkpoint_stops_the_feed_naming_the_file(
    jsonrpc_node: JsonRpcNode, tmp_path: Any
) -> None:
    checkpoint = tmp_path / "ethereum.json"
    checkpoint.write_text("{not json")
    feed = ChainFeed(config(jsonrpc_node), checkpoint=checkpoint)
    with pytest.raises(ValueError, match=f"unreadable checkpoint {checkpoint}"):
        asyncio.run(feed.run(lambda: False))


def test_an_l2_chain_is_followed_with_its_own_chain_id_and_bridge_events(
    jsonrpc_node: JsonRpcNode,
) -> None:
    """Optimism's L2StandardBridge: the two recorded logs (a CRV withdrawal, an ETH deposit
    finalized), with the block times their provenance gives."""
    recorded = json.loads((CHAIN_DIR / "bridges" / "logs_recorded.json").read_text())
    logs = [item["log"] for item in recorded if item["chain"] == "optimism"]
    jsonrpc_node.chain_id = 10
    jsonrpc_node.timestamps.update({105457219: 1686513215, 114344502: 1704287781})
    jsonrpc_node.add_logs(logs)
    jsonrpc_node.set_head(114344502 + 20)
    sink: list[Envelope[Any]] = []
    values = {"rpc_url": jsonrpc_node.url, "poll_seconds": 0.05, "start_block": 105457219,
              "max_block_range": 10_000_000, "sources": ["bridges"]}  # fmt: skip
    feed = quick(chains_config({"optimism": values})["optimism"], sink)
    with running(feed):
        wait_for(lambda: feed.gauges.get("processed_block") == 114344502)
    assert feed.config.confirmations == 20  # the optimism default
    connector = ChainConnector("optimism")
    wanted: list[Envelope[Any]] = []
    for log in logs:
        number = int(log["blockNumber"], 16)
        connector.learn_block(number, jsonrpc_node.timestamp(number))
        wanted += connector.parse(ChainFrame("optimism", time.time_ns(), log)).envelopes
    assert len(wanted) == 2 and ids(sink) == ids(wanted)
    assert {e.header.source for e in sink} == {"optimism-rpc"}
    assert [e.header.event_time_ms for e in sink] == [1686513215000, 1704287781000]
    assert [e.data for e in sink] == [e.data for e in wanted]


def test_a_node_that_refuses_batches_gets_single_calls(jsonrpc_node: JsonRpcNode) -> None:
    logs = recorded_logs(UNISWAP_LOGS)
    jsonrpc_node.add_logs(logs)
    jsonrpc_node.batch_limit = 1  # as a provider without batch support answers
    jsonrpc_node.set_head(BLOCK)
    sink: list[Envelope[Any]] = []
    feed = quick(config(jsonrpc_node, start_block=BLOCK - 2, confirmations=0), sink)
    with running(feed):
        wait_for(lambda: feed.gauges.get("processed_block") == BLOCK)
    assert sorted(ids(sink)) == sorted(ids(expected(_registered(logs), jsonrpc_node)))
    assert feed.counts["reconnects"] == 0  # smaller batches, not a failure


def test_a_node_that_refuses_log_subscriptions_is_polled(jsonrpc_node: JsonRpcNode) -> None:
    logs = [log for log in recorded_logs(UNISWAP_LOGS) if log["address"] == USDC_WETH]
    jsonrpc_node.add_logs(logs)
    jsonrpc_node.refused_subscriptions.add("logs")
    jsonrpc_node.set_head(BLOCK - 1)
    sink: list[Envelope[Any]] = []
    feed_config = config(
        jsonrpc_node, ws_url=jsonrpc_node.ws_url, start_block=BLOCK - 1, confirmations=0
    )
    feed = quick(feed_config, sink)
    with running(feed):
        wait_for(lambda: feed.counts["subscriptions_refused"] == 1)
        jsonrpc_node.set_head(BLOCK)
        wait_for(lambda: feed.gauges.get("processed_block") == BLOCK)
    assert sorted(ids(sink)) == sorted(ids(expected(logs, jsonrpc_node)))


def test_logs_of_another_branch_than_the_headers_are_read_again(
    jsonrpc_node: JsonRpcNode,
) -> None:
    """A load-balanced provider can answer eth_getLogs from a node on another branch than the
    one answering eth_getBlockByNumber: the range is not emitted until both agree."""
    logs = [log for log in recorded_logs(UNISWAP_LOGS) if log["address"] == USDC_WETH]
    jsonrpc_node.add_logs(logs)
    block = jsonrpc_node._blocks[BLOCK]
    recorded_hash = block.logs[0]["blockHash"]
    block.logs[0]["blockHash"] = "0x" + "ab" * 32  # this log claims another block at the height
    jsonrpc_node.set_head(BLOCK)
    sink: list[Envelope[Any]] = []
    feed = quick(config(jsonrpc_node, start_block=BLOCK - 1, confirmations=0), sink)
    with running(feed):
        wait_for(lambda: feed.counts["inconsistent_ranges"] >= 2)
        assert sink == [] and feed.gauges.get("processed_block") is None
        block.logs[0]["blockHash"] = recorded_hash  # the provider's nodes agree again
        wait_for(lambda: feed.gauges.get("processed_block") == BLOCK)
    assert sorted(ids(sink)) == sorted(ids(expected(logs, jsonrpc_node)))
