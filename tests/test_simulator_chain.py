"""The simulator's on-chain events: liquidations (with cascades) and governance, valid for the
processor, consistent with the simulated prices, deterministic, leaving the market's own
random numbers alone — and a cascade the pattern app finds, with no services."""

from __future__ import annotations

import dataclasses
import re
from collections import Counter, defaultdict
from typing import Any

import pytest

from lucent_platform import topics
from lucent_platform.envelope import Envelope, decode, decode_as
from lucent_platform.messages import GovernanceEvent, Liquidation, LiquidationCascade, PriceUpdate
from lucent_platform.processing import InRecord, MarketProcessor, ProcessorConfig
from lucent_platform.signals.apps.patterns import CascadeDetector, PatternsConfig
from lucent_platform.simulator import AnomalyRates, MarketSimulator, SimulatorConfig
from lucent_platform.simulator.chain import BLOCK_MS, block_at, block_time_ms
from lucent_platform.simulator.config import LendingMarketSpec

START_MS = 1_756_809_000_000  # 2025-09-02T10:30:00Z, a whole minute
THREE_MINUTES_MS = 180_000
ADDRESS = re.compile(r"^0x[0-9a-f]{40}$")
TX_HASH = re.compile(r"^0x[0-9a-f]{64}$")
ON_CHAIN = ("market.liquidations.", "market.governance.")


@dataclasses.dataclass(frozen=True)
class Run:
    simulator: MarketSimulator
    envelopes: list[tuple[str, Any, Envelope[Any]]]  # (topic, injected, envelope)

    def of(self, kind: type) -> list[tuple[Any, Envelope[Any]]]:
        return [(inj, e) for _, inj, e in self.envelopes if isinstance(e.data, kind)]


def simulate(config: SimulatorConfig, duration_ms: int) -> Run:
    simulator = MarketSimulator(config, start_ms=START_MS)
    out = [
        (m.topic, m.injected, decode(m.value))
        for m in simulator.run(duration_ms, 1000)
        if m.injected != "malformed"
    ]
    return Run(simulator, out)


@pytest.fixture(scope="module")
def three_minutes() -> Run:
    return simulate(SimulatorConfig(seed=7), THREE_MINUTES_MS)


def test_liquidations_are_well_formed_on_their_topics_at_block_times(three_minutes: Run) -> None:
    liquidations = three_minutes.of(Liquidation)
    assert len(liquidations) >= 5
    blocks = []
    for _, e in liquidations:
        d: Liquidation = e.data
        assert e.header.source == f"{d.protocol}-simulator"
        assert d.protocol in ("aave-v3", "compound-v3") and d.chain == "ethereum"
        assert TX_HASH.match(d.tx_hash)
        assert ADDRESS.match(d.borrower) and ADDRESS.match(d.liquidator)
        assert d.collateral_asset in ("WETH", "WBTC") and d.debt_asset in ("USDC", "USDT")
        assert d.collateral_amount > 0 and d.debt_amount > 0 and d.value_usd
        # Every event sits at its block's timestamp; Ethereum slots from the Merge.
        assert d.block_number == block_at(e.header.event_time_ms)
        assert e.header.event_time_ms == block_time_ms(d.block_number)
        assert d.log_index is not None and d.log_index >= 5
        blocks.append(d.block_number)
    assert blocks == sorted(blocks)
    first, last = blocks[0], blocks[-1]
    assert first >= 23_336_129 and last - first <= THREE_MINUTES_MS // BLOCK_MS + 1
    assert len({e.data.tx_hash for _, e in liquidations}) == len(liquidations)
    assert len({e.data.liquidator for _, e in liquidations}) <= 6  # a few bots


def test_liquidation_values_match_the_simulated_prices(three_minutes: Run) -> None:
    """Aave: the collateral seized is the debt repaid plus the 5 % bonus, at the prices the
    venues quote at that moment; Compound: ``valueUsd`` is the collateral absorbed."""
    last_price: dict[str, float] = {}
    checked = 0
    for _, injected, e in three_minutes.envelopes:
        d = e.data
        if isinstance(d, PriceUpdate) and d.exchange == "binance" and injected is None:
            last_price[d.pair] = d.price
        if not isinstance(d, Liquidation):
            continue
        asset = {"WETH": "ETH", "WBTC": "BTC"}[d.collateral_asset]
        price = last_price[f"{asset}-USDT"]  # the quote a moment before the block
        collateral_usd = d.collateral_amount * price
        debt_usd = d.debt_amount  # stablecoins, within basis points of $1
        if d.protocol == "aave-v3":
            assert d.value_usd == pytest.approx(debt_usd, rel=2e-3)
            assert collateral_usd == pytest.approx(debt_usd * 1.05, rel=6e-3)
        else:
            assert d.value_usd == pytest.approx(collateral_usd, rel=6e-3)
            assert collateral_usd == pytest.approx(debt_usd * 1.05, rel=6e-3)
        assert 100 <= debt_usd <= 5_000_000 * 1.01
        checked += 1
    assert checked >= 5


def test_governance_proposals_votes_and_their_outcome(three_minutes: Run) -> None:
    events = [e.data for _, e in three_minutes.of(GovernanceEvent)]
    assert events
    by_proposal: dict[tuple[str, str], list[GovernanceEvent]] = defaultdict(list)
    for g in events:
        assert g.chain == "ethereum" and g.protocol in ("compound", "uniswap")
        assert g.tx_hash is not None and TX_HASH.match(g.tx_hash)
        assert g.block_number is not None and g.log_index is not None and g.title
        by_proposal[g.protocol, g.proposal_id].append(g)
    for steps in by_proposal.values():
        kinds = [g.event_type for g in steps]
        assert kinds[0] == "proposal_created" and kinds.count("proposal_created") == 1
        assert steps[0].proposer is not None and ADDRESS.match(steps[0].proposer)
        votes = [g for g in steps if g.event_type == "vote_cast"]
        assert all(v.voter and ADDRESS.match(v.voter) and v.votes and v.votes > 0 for v in votes)
        assert all(v.support in ("for", "against", "abstain") for v in votes)
        assert len({v.voter for v in votes}) == len(votes)  # one vote per delegate
        if "queued" in kinds:  # only after its votes, and only if it passed
            assert kinds.index("queued") > max(i for i, k in enumerate(kinds) if k == "vote_cast")
            tally = Counter[str]()
            for v in votes:
                tally[v.support or ""] += int(v.votes or 0)
            assert tally["for"] > tally["against"]
        if "executed" in kinds:
            assert kinds.index("executed") > kinds.index("queued")
    # The first proposal comes 10 s in (for `make run`), and votes follow in bursts.
    assert any(len(steps) >= 8 for steps in by_proposal.values())
    assert min(e.header.event_time_ms for _, e in three_minutes.of(GovernanceEvent)) < (
        START_MS + 10_000 + BLOCK_MS
    )


def test_passed_proposals_are_queued_then_executed() -> None:
    small = SimulatorConfig(seed=4, exchanges=("binance",), pairs=("ETH-USDT",), pools=(),
                            proposals_per_s=0.01)  # fmt: skip
    events = [e.data for _, e in simulate(small, 15 * 60_000).of(GovernanceEvent)]
    steps: dict[str, list[str]] = defaultdict(list)
    for g in events:
        steps[f"{g.protocol}/{g.proposal_id}"].append(g.event_type)
    done = [s for s in steps.values() if "executed" in s]
    assert done and all(s[-2:] == ["queued", "executed"] for s in done)


def test_every_on_chain_message_passes_the_processor(three_minutes: Run) -> None:
    clock = [START_MS]
    processor = MarketProcessor(ProcessorConfig(), clock_ms=lambda: clock[0])
    simulator = MarketSimulator(SimulatorConfig(seed=7), start_ms=START_MS)
    outcomes: Counter[str] = Counter()
    offsets: Counter[str] = Counter()
    for m in simulator.run(THREE_MINUTES_MS, 1000):
        if not m.topic.startswith(ON_CHAIN):
            continue
        clock[0] = m.received_time_ms + 3
        record = InRecord(m.topic, 0, offsets[m.topic], clock[0], m.key, m.value)
        offsets[m.topic] += 1
        result = processor.process([record])
        for out in result.outputs:
            outcomes[out.topic] += 1
    assert set(outcomes) == {
        topics.normalized(topics.Kind.LIQUIDATIONS),
        topics.normalized(topics.Kind.GOVERNANCE),
    }
    assert sum(outcomes.values()) == sum(offsets.values())  # none dead-lettered


def test_a_cascade_comes_within_two_minutes_with_a_fall_in_one_minute(three_minutes: Run) -> None:
    cascades = [i for i in three_minutes.simulator.injections if i.kind == "liquidation_cascade"]
    assert cascades and three_minutes.simulator.stats["events.liquidation_cascade"] >= 1
    cascade = cascades[0]
    # Due 10 s in, it starts 1 s into the next whole minute and ends within it.
    assert cascade.start_ms == START_MS + 61_000
    assert cascade.start_ms // 60_000 == (cascade.end_ms - 1) // 60_000
    asset = cascade.detail.split(" while ")[1].split()[0]
    flagged = [e.data for inj, e in three_minutes.of(Liquidation) if inj == "liquidation_cascade"]
    assert len(flagged) >= 4
    assert len({(d.protocol, d.collateral_asset) for d in flagged}) == 1
    assert cascade.topic == topics.liquidations(flagged[0].protocol)
    times = [e.header.event_time_ms for inj, e in three_minutes.of(Liquidation) if inj]
    assert cascade.start_ms <= min(times) and max(times) < cascade.end_ms
    assert max(times) - min(times) <= 36_000  # within seconds: a few blocks
    # The asset's quotes fall more than 5 % inside that minute.
    window = (cascade.start_ms - cascade.start_ms % 60_000, cascade.start_ms + 60_000)
    quotes = [e.data.price for inj, e in three_minutes.of(PriceUpdate)
              if inj is None and e.data.pair == f"{asset}-USDT"
              and window[0] <= e.header.event_time_ms < window[1]]  # fmt: skip
    peak_to_low = max(
        (high - min(quotes[i:])) / high for i, high in enumerate(quotes) if quotes[i:]
    )
    assert peak_to_low > 0.05


def test_the_pattern_app_finds_the_simulated_cascade() -> None:
    """Simulator → processor → cascade detector, pure: the injected cascade is found."""
    clock = [START_MS]
    processor = MarketProcessor(ProcessorConfig(), clock_ms=lambda: clock[0])
    app = CascadeDetector(PatternsConfig(), clock_ms=lambda: clock[0], out_topic="out",
                          late_topic="late")  # fmt: skip
    wanted = (topics.normalized(topics.Kind.LIQUIDATIONS), topics.normalized(topics.Kind.PRICES))
    app.assigned([(topic, p) for topic in wanted for p in range(topics.NORMALIZED_PARTITIONS)])
    simulator = MarketSimulator(SimulatorConfig(seed=7), start_ms=START_MS)
    offsets: Counter[str] = Counter()
    found: list[tuple[LiquidationCascade, int]] = []
    dead_prices = 0
    for m in simulator.run(THREE_MINUTES_MS, 1000):
        clock[0] = m.received_time_ms + 3
        record = InRecord(m.topic, 0, offsets[m.topic], clock[0], m.key, m.value)
        offsets[m.topic] += 1
        for out in processor.process([record]).outputs:
            if out.topic == topics.DEADLETTER and m.injected is None:
                dead_prices += 1
            if out.topic not in wanted:
                continue
            normalized = InRecord(out.topic, 0, offsets[out.topic], clock[0], out.key, out.value)
            offsets[out.topic] += 1
            found += [(decode_as(o.value, LiquidationCascade).data, clock[0])
                      for o in app.process([normalized]).outputs if o.topic == "out"]  # fmt: skip
    cascade = next(i for i in simulator.injections if i.kind == "liquidation_cascade")
    assert dead_prices == 0  # the crash is steep, not an outlier
    assert len(found) == 1
    detected, at_ms = found[0]
    protocol = cascade.topic.rsplit(".", 1)[1]
    assert (detected.protocol, detected.chain) == (protocol, "ethereum")
    assert detected.collateral_asset in ("WETH", "WBTC")  # priced by ETH / BTC pairs
    assert (
        detected.price_pair.split("-")[0]
        == {"WETH": "ETH", "WBTC": "BTC"}[detected.collateral_asset]
    )
    assert detected.liquidations >= 3 and detected.drop_pct >= 5.0
    assert detected.window_start_ms == cascade.start_ms - cascade.start_ms % 60_000
    assert at_ms - cascade.start_ms < 60_000  # found while the window is open


def test_on_chain_events_leave_the_market_messages_as_they_were() -> None:
    """Their own generator: with or without liquidations and governance, every venue and pool
    message is byte for byte the same (cascades off: a crash moves prices on purpose)."""

    def market(config: SimulatorConfig) -> list[tuple[str, bytes, int]]:
        simulator = MarketSimulator(config, start_ms=START_MS)
        return [(m.topic, m.value, m.received_time_ms) for m in simulator.run(90_000, 500)
                if not m.topic.startswith(ON_CHAIN)]  # fmt: skip

    no_crash = AnomalyRates(liquidation_cascade=0.0)
    with_chain = SimulatorConfig(seed=5, anomalies=no_crash)
    without = dataclasses.replace(with_chain, liquidations_per_s=0.0, proposals_per_s=0.0)
    assert market(with_chain) == market(without)
    run = simulate(with_chain, 90_000)
    assert run.of(Liquidation) and run.of(GovernanceEvent)
    assert not simulate(without, 90_000).of(Liquidation)


def test_on_chain_events_are_deterministic_and_rates_configurable() -> None:
    def chain(config: SimulatorConfig) -> list[bytes]:
        simulator = MarketSimulator(config, start_ms=START_MS)
        return [m.value for m in simulator.run(120_000, 700) if m.topic.startswith(ON_CHAIN)]

    assert chain(SimulatorConfig(seed=9)) == chain(SimulatorConfig(seed=9))
    assert set(chain(SimulatorConfig(seed=9))).isdisjoint(chain(SimulatorConfig(seed=10)))
    busy = chain(SimulatorConfig(seed=9, liquidations_per_s=0.5))
    assert len(busy) > len(chain(SimulatorConfig(seed=9))) + 20
    off = SimulatorConfig(seed=9, liquidations_per_s=0.0, proposals_per_s=0.0,
                          anomalies=AnomalyRates(liquidation_cascade=0.0))  # fmt: skip
    assert chain(off) == []


def test_config_rejects_a_market_lending_an_asset_it_cannot_price() -> None:
    market = LendingMarketSpec("aave-v3", "aave", (("WAVAX", "AVAX"),), ("USDC",))
    with pytest.raises(ValueError, match="AVAX"):
        SimulatorConfig(lending_markets=(market,))


def test_the_simulated_feed_logs_the_cascade_once(caplog: pytest.LogCaptureFixture) -> None:
    """So `make run` can time `market.patterns` against it, as for gaps and spikes."""
    import logging

    from streaming.feeds.simulate import _log_signal_injections

    simulator = MarketSimulator(SimulatorConfig(seed=7), start_ms=START_MS)
    logged = 0
    with caplog.at_level(logging.INFO, logger="streaming.feeds.simulate"):
        for now in range(START_MS, START_MS + 90_000, 1_000):
            simulator.step(now)
            logged = _log_signal_injections(simulator, logged)
    lines = [r.getMessage() for r in caplog.records
             if r.getMessage().startswith("injected liquidation_cascade")]  # fmt: skip
    (cascade,) = [i for i in simulator.injections if i.kind == "liquidation_cascade"]
    assert lines == [
        f"injected liquidation_cascade at {cascade.start_ms} on {cascade.topic}: {cascade.detail}"
    ]
