"""Governance: proposals, bursts of votes, and the queueing and execution of those that pass.

GovernorBravo-style, on a compressed clock (real votes last days): a proposal
(``proposal_created``, with its proposer and title) is followed by ``votes_per_proposal``
``vote_cast`` events from distinct delegates over the next 10-25 blocks (2-5 minutes), several
in a block when a burst comes; a proposal with more votes for than against is ``queued`` two
blocks after the vote ends and ``executed`` after a 10-block timelock. Votes are in governance
tokens (log-normal, median 50k); 75 % for, 20 % against, 5 % abstain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lucent_platform import topics
from lucent_platform.messages import GovernanceEvent
from lucent_platform.simulator.chain import BLOCK_MS, ChainFeed, fake_hex
from lucent_platform.simulator.config import SimulatorConfig
from lucent_platform.simulator.draws import Draws

VOTING_BLOCKS = (10, 25)
QUEUE_AFTER_BLOCKS = 2
TIMELOCK_BLOCKS = 10
DELEGATES = 400  # voters a governor's proposals draw from
VOTES_MEDIAN = 50_000.0
VOTES_SIGMA = 1.5
SUPPORT = (("for", 0.75), ("against", 0.95), ("abstain", 1.0))  # cumulative
TITLES = (
    "Adjust USDC reserve factor",
    "Raise WETH supply cap",
    "Add wstETH as collateral",
    "Update interest rate curve of USDT",
    "Renew the security service provider",
    "Fund the community grants program",
    "Lower WBTC borrow cap",
    "Deploy the protocol on a new L2",
)

Emitted = tuple[ChainFeed, GovernanceEvent]


@dataclass(frozen=True, slots=True)
class Step:
    """A governance event due in a later block (vote fields set for ``vote_cast``)."""

    governor: int
    proposal_id: int
    event_type: str
    title: str
    voter: int = -1
    support: str | None = None
    votes: float | None = None


class GovernanceEngine:
    """Proposals and their votes on ``config.governors``, from its own ``draws``."""

    def __init__(self, config: SimulatorConfig, draws: Draws, run_id: str) -> None:
        self.config = config
        self.draws = draws
        self.run_id = run_id
        self.governors = config.governors
        self.feeds = [
            ChainFeed(topics.governance(g.protocol), g.protocol, run_id) for g in self.governors
        ]
        self.per_block = config.proposals_per_s * config.rate_multiplier * BLOCK_MS / 1000
        self.next_id = [g.first_proposal_id for g in self.governors]
        self.planned: dict[int, list[Step]] = {}
        self._tx = 0

    def block(self, block: int, first: bool, log_index: Callable[[], int]) -> list[Emitted]:
        """This block's governance events; ``first``: the run's first proposal is due now."""
        out = [self._event(step, block, log_index()) for step in self.planned.pop(block, [])]
        if self.governors and self.per_block > 0:
            proposals = int(self.draws.rng.poisson(self.per_block))
            for _ in range(max(proposals, 1) if first else proposals):
                out.append(self._propose(block, log_index()))
        return out

    def _propose(self, block: int, log_index: int) -> Emitted:
        draws = self.draws
        governor = draws.index(len(self.governors))
        proposal_id = self.next_id[governor]
        self.next_id[governor] += 1
        title = TITLES[draws.index(len(TITLES))]
        low, high = self.config.votes_per_proposal
        voters = draws.rng.choice(DELEGATES, size=min(low + draws.index(high - low + 1),
                                                      DELEGATES), replace=False)  # fmt: skip
        span = VOTING_BLOCKS[0] + draws.index(VOTING_BLOCKS[1] - VOTING_BLOCKS[0] + 1)
        tally = {"for": 0.0, "against": 0.0, "abstain": 0.0}
        for voter in voters.tolist():
            u = draws.uniform()
            support = next(name for name, upto in SUPPORT if u < upto)
            votes = round(draws.lognormal(VOTES_MEDIAN, VOTES_SIGMA), 4)
            tally[support] += votes
            at = block + 1 + draws.index(span)
            step = Step(governor, proposal_id, "vote_cast", title, voter, support, votes)
            self.planned.setdefault(at, []).append(step)
        if tally["for"] > tally["against"]:
            queued = block + span + QUEUE_AFTER_BLOCKS
            for at, kind in ((queued, "queued"), (queued + TIMELOCK_BLOCKS, "executed")):
                self.planned.setdefault(at, []).append(Step(governor, proposal_id, kind, title))
        created = Step(governor, proposal_id, "proposal_created", title)
        return self._event(created, block, log_index)

    def _event(self, step: Step, block: int, log_index: int) -> Emitted:
        spec = self.governors[step.governor]
        self._tx += 1
        who = f"{spec.protocol}-delegate"
        data = GovernanceEvent(
            protocol=spec.protocol,
            proposal_id=str(step.proposal_id),
            event_type=step.event_type,
            title=step.title,
            chain=spec.chain,
            proposer=(
                fake_hex(self.run_id, who, -step.proposal_id, 20)
                if step.event_type == "proposal_created"
                else None
            ),
            voter=fake_hex("lucent-simulator", who, step.voter, 20) if step.voter >= 0 else None,
            support=step.support,
            votes=step.votes,
            tx_hash=fake_hex(self.run_id, "governance-tx", self._tx, 32),
            block_number=block,
            log_index=log_index,
        )
        return self.feeds[step.governor], data
