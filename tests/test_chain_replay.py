"""Chain recordings: read, written and replayed through ChainConnector, from the recorded
fixture tests/fixtures/chain/recordings/ethereum_mixed.jsonl (PROVENANCE.md says which values
are real and which built). Expected prices, times and ids are computed here from the raw hex.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from fractions import Fraction
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lucent_platform.adapters import kafka
from lucent_platform.chains.connector import ChainFrame
from lucent_platform.cli.main import cli
from lucent_platform.config import Settings
from lucent_platform.envelope import Envelope, decode, encode
from lucent_platform.recordings import chain_frame_to_json, read_recording, write_frames
from lucent_platform.topics import raw_topic
from streaming.feeds.replay import Replayer

RECORDING = Path(__file__).parent / "fixtures/chain/recordings/ethereum_mixed.jsonl"
SYNC = "0x1c411e9a96e071241c2f21f7726b17ae89e3cab4c78be50e062b03a9fffbbad1"
USDC_WETH = "0xb4e16d0168e52d35cacd2c6185b44281ec28c9dc"
YFI_WETH = "0x2fdbadf3c4d5a8666bc06645b8358ab803996e28"
LINK_USDC = "0xd8c8a2b125527bf97c8e4845b25de7e964468f77"
BLOCK_TIMES_S = {10673175: 1597608571, 11017338: 1602193349, 12115107: 1616767965}


def _lines() -> list[dict[str, Any]]:
    return [json.loads(line) for line in RECORDING.read_text().splitlines()]


def _logs_of_block() -> list[dict[str, Any]]:
    (getlogs,) = [x for x in _lines() if x.get("request", {}).get("method") == "eth_getLogs"
                  and "result" in x["message"]]  # fmt: skip
    return list(getlogs["message"]["result"])


def _replay(path: Path = RECORDING) -> tuple[list[Envelope[Any]], Any]:
    envelopes: list[Envelope[Any]] = []
    stats = Replayer(envelopes.append).run(read_recording(path))
    return envelopes, stats


def _reserves(obj: dict[str, Any]) -> tuple[int, int]:
    data = obj["data"][2:]
    return int(data[:64], 16), int(data[64:128], 16)


def test_chain_lines_read_into_chain_frames_and_write_back_identically() -> None:
    frames = list(read_recording(RECORDING))
    assert len(frames) == len(_lines()) == 34
    assert all(isinstance(f, ChainFrame) and f.chain == "ethereum" for f in frames)
    assert [chain_frame_to_json(f) for f in frames if isinstance(f, ChainFrame)] == _lines()
    out = io.StringIO()
    assert write_frames(out, frames) == 34
    assert out.getvalue() == RECORDING.read_text()


def test_replay_gives_the_recorded_blocks_envelopes_with_their_block_times() -> None:
    envelopes, stats = _replay()
    assert stats.frames == 34 and stats.rejected == 1
    assert dict(stats.reasons) == {"rpc error": 1}
    for envelope in envelopes:
        block = getattr(envelope.data, "block_number", None)
        if block is not None:
            assert envelope.header.event_time_ms == BLOCK_TIMES_S[block] * 1000
            assert not {"no_event_time"} & set(envelope.metadata.quality_flags or [])
    kinds = {e.header.message_type for e in envelopes}
    assert {"trade", "price_update", "yield_rate", "liquidation", "governance_event"} <= kinds
    assert {e.data.protocol for e in envelopes if e.header.message_type == "liquidation"} == {
        "aave-v1"
    }


def test_pools_learnt_from_metadata_answers_are_priced_from_their_reserves() -> None:
    envelopes, _ = _replay()
    prices = {
        (e.data.pair, e.data.log_index): e.data.price
        for e in envelopes
        if e.header.message_type == "price_update" and e.data.exchange == "uniswap-v2"
    }
    syncs = [o for o in _logs_of_block() if o["topics"][0] == SYNC]
    yfi = [o for o in syncs if o["address"] == YFI_WETH]
    link = [o for o in syncs if o["address"] == LINK_USDC]
    assert yfi and link
    for obj in yfi:  # YFI and WETH both have 18 decimals: WETH per YFI = reserve1 / reserve0
        reserve_yfi, reserve_weth = _reserves(obj)
        expected = Fraction(reserve_weth, reserve_yfi)
        assert prices[("YFI-WETH", int(obj["logIndex"], 16))] == float(expected)
    for obj in link:
        reserve_link, reserve_usdc = _reserves(obj)
        expected = Fraction(reserve_usdc, 10**6) / Fraction(reserve_link, 10**18)
        assert prices[("LINK-USDC", int(obj["logIndex"], 16))] == float(expected)
    # the pool's YFI price (49.03-49.56 over the block) and Chainlink's YFI/ETH answer of the
    # same block (48.49) agree within 3 %: an independent check of the learnt pool's orientation
    (oracle,) = {
        e.data.price
        for e in envelopes
        if e.data.__class__.__name__ == "PriceUpdate"
        and e.data.exchange == "chainlink"
        and e.data.block_number is None
    }
    assert oracle == 48485437436473270000 / 10**18
    assert all(abs(prices[("YFI-WETH", int(o["logIndex"], 16))] / oracle - 1) < 0.03 for o in yfi)


def test_a_removed_log_retracts_its_message() -> None:
    envelopes, _ = _replay()
    retracted = [e for e in envelopes if "retracted" in (e.metadata.quality_flags or [])]
    (retraction,) = retracted
    assert (retraction.data.pair, retraction.data.log_index) == ("WETH-USDC", 0x38)
    (original,) = [
        e
        for e in envelopes
        if e is not retraction and e.header.message_id == retraction.header.message_id
    ]
    assert original.data == retraction.data
    assert original.metadata.quality_flags is None


def test_replay_is_deterministic() -> None:
    first, _ = _replay()
    second, _ = _replay()
    assert [encode(e) for e in first] == [encode(e) for e in second]
    assert len({e.header.message_id for e in first}) == len(first) - 1  # the retraction


def test_garbage_lines_and_logs_are_rejected_with_reasons(tmp_path: Path) -> None:
    good = RECORDING.read_text().splitlines()[0]
    sync = next(o for o in _logs_of_block() if o["topics"][0] == SYNC)
    bad_log = dict(sync, data="0xnot-hex")
    lines = [
        good,
        "this is not JSON",
        json.dumps({"chain": "ethereum", "received_ns": "soon", "message": {}}),
        json.dumps({"chain": "mars", "received_ns": 1, "message": {}}),
        json.dumps({"chain": "ethereum", "received_ns": 2, "message": bad_log}),
        json.dumps({"chain": "ethereum", "received_ns": 3, "message": [1, 2]}),
        json.dumps({"chain": "ethereum", "received_ns": 4, "message": {"result": "0x1"}}),
    ]
    path = tmp_path / "garbage.jsonl"
    path.write_text("\n".join(lines) + "\n")
    envelopes, stats = _replay(path)
    assert envelopes == [] and stats.frames == 7 and stats.rejected == 6
    assert dict(stats.reasons) == {
        "bad item": 2,  # the non-JSON line (an item of the file's chain) and the list
        "bad time": 1,
        "unknown chain": 1,
        "bad log": 1,
        "no request": 1,
    }


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=6)
    | st.sampled_from(["0x", "0x1", "0xa81c7a", SYNC, USDC_WETH, "eth_getLogs", "eth_call"]),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(["topics", "data", "address", "result", "error", "method",
                                       "params", "number", "timestamp", "to"]), inner, max_size=5),
    max_leaves=16,
)  # fmt: skip


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lines=st.lists(st.tuples(_json, _json, st.integers() | st.text(max_size=3)), max_size=5))
def test_any_json_recording_replays_without_an_exception(
    tmp_path: Path, lines: list[tuple[Any, Any, Any]]
) -> None:
    path = tmp_path / "any.jsonl"
    path.write_text("".join(json.dumps({"chain": "ethereum", "received_ns": ns, "message": m,
                                        "request": r}) + "\n" for m, r, ns in lines))  # fmt: skip
    envelopes, stats = _replay(path)
    assert stats.frames == len(lines)
    assert all(decode(encode(e)) == e for e in envelopes)


def test_lucent_replay_prints_a_chain_recordings_envelopes(tmp_path: Path) -> None:
    settings_ = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    result = CliRunner().invoke(
        cli, ["replay", str(RECORDING), "--fast", "--to", "stdout"], obj={"settings": settings_}
    )
    assert result.exit_code == 0, result.output
    printed = [decode(line) for line in result.stdout_bytes.splitlines() if line.startswith(b"{")]
    expected, _ = _replay()
    assert [e.header.message_id for e in printed] == [e.header.message_id for e in expected]
    assert "replayed 34 frames" in result.stderr


def test_bare_log_objects_replay_as_items_of_the_chain_given(tmp_path: Path) -> None:
    settings_ = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    block = Path(__file__).parent / "fixtures/chain/uniswap_v2/logs_block_11017338.json"
    args = ["replay", str(block), "--fast", "--to", "stdout", "--chain"]
    result = CliRunner().invoke(cli, [*args, "ethereum"], obj={"settings": settings_})
    assert result.exit_code == 0, result.output
    printed = [decode(line) for line in result.stdout_bytes.splitlines() if line.startswith(b"{")]
    assert "replayed 280 frames" in result.stderr
    assert {e.data.block_number for e in printed} == {11017338}
    refused = CliRunner().invoke(cli, [*args, "mars"], obj={"settings": settings_})
    assert refused.exit_code == 2 and "'mars' is not one of" in refused.output


def test_lucent_replay_to_kafka_puts_each_envelope_on_its_raw_topic(
    own_broker: str, settings: Settings
) -> None:
    settings = settings.model_copy(update={"kafka_bootstrap_servers": own_broker})
    result = CliRunner().invoke(
        cli, ["replay", str(RECORDING), "--fast", "--to", "kafka"], obj={"settings": settings}
    )
    assert result.exit_code == 0, result.output
    expected, _ = _replay()
    wanted = Counter(raw_topic(e.header.message_type, e.data) for e in expected)
    assert "market.prices.uniswap-v2.yfi-weth" in wanted
    assert "market.liquidations.aave-v1" in wanted and "market.governance.compound" in wanted
    counts = {i.topic: i.messages for i in kafka.describe_topics(settings, own_broker)}
    assert {topic: counts.get(topic) for topic in wanted} == dict(wanted)


def test_one_recording_may_hold_several_chains_each_with_its_connector(tmp_path: Path) -> None:
    chain = Path(__file__).parent / "fixtures/chain"
    receipt = json.loads((chain / "realt_rmm_v2/receipt_borrow_gnosis.json").read_text())
    swap = json.loads((chain / "pancakeswap_v3/log_swap_rpc.json").read_text())
    request = {
        "method": "eth_getTransactionReceipt",
        "params": [receipt["result"]["transactionHash"]],
    }
    lines = [
        {"chain": "gnosis", "received_ns": 1, "message": receipt, "request": request},
        {"chain": "bsc", "received_ns": 2, "message": swap},
        {"chain": "gnosis", "received_ns": 3, "message": {"jsonrpc": "2.0", "id": 1,
                                                          "result": receipt["result"]}},
    ]  # fmt: skip
    path = tmp_path / "multi.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    replayer = Replayer(lambda envelope: None)
    stats = replayer.run(read_recording(path))
    assert set(replayer.chains) == {"gnosis", "bsc"} and stats.rejected == 0
    assert (
        stats.by_kind["yield_rate"] == 2
    )  # the receipt's ReserveDataUpdated, with and without its request
    assert stats.by_kind["trade"] == stats.by_kind["price_update"] == 1  # the registry's pool
