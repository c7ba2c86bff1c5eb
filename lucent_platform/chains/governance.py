"""Governance: governor ``ProposalCreated`` and ``VoteCast`` logs → ``GovernanceEvent``.

Compound's GovernorBravo and OpenZeppelin's Governor (Uniswap, ENS, …) share both events:
``ProposalCreated(uint256 id, address proposer, address[] targets, uint256[] values, string[]
signatures, bytes[] calldatas, uint256 startBlock, uint256 endBlock, string description)`` (no
indexed field, dynamic data) and ``VoteCast(address indexed voter, uint256 proposalId, uint8
support, uint256 votes, string reason)`` with support 0 = against, 1 = for, 2 = abstain.
Compound's older GovernorAlpha ``VoteCast(address voter, uint256 proposalId, bool support,
uint256 votes)`` is read too. MakerDAO's DSChief votes by anonymous ``LogNote`` events (no
proposal ids) and is not covered here. A vote log::

    {"address": "0xc0da02939e1441f497fd74f78ce7decb17b66529",
     "topics": ["0xb8e13888…", "0x…<voter>"],
     "data": "0x<proposalId><support><votes><offset of reason><reason length><reason bytes>", …}
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from eth_abi import decode as abi_decode

from lucent_platform.chains.abi import ChainDecodeError, decode_words, event_topic, topic_address
from lucent_platform.chains.logs import Log, wrap_log
from lucent_platform.chains.registry import governor_at
from lucent_platform.envelope import Envelope
from lucent_platform.messages import GovernanceEvent

PROPOSAL_CREATED = event_topic(
    "ProposalCreated(uint256,address,address[],uint256[],string[],bytes[],uint256,uint256,string)"
)
VOTE_CAST = event_topic("VoteCast(address,uint256,uint8,uint256,string)")
VOTE_CAST_ALPHA = event_topic("VoteCast(address,uint256,bool,uint256)")
SUPPORT = {0: "against", 1: "for", 2: "abstain"}
TITLE_MAX = 200


@dataclass(frozen=True, slots=True)
class Proposal:
    proposal_id: int
    proposer: str
    start_block: int
    end_block: int
    description: str

    @property
    def title(self) -> str:
        """The description's first non-empty line without Markdown heading marks."""
        for line in self.description.splitlines():
            if line.strip():
                return line.strip().lstrip("#").strip()[:TITLE_MAX]
        return ""


@dataclass(frozen=True, slots=True)
class Vote:
    voter: str
    proposal_id: int
    support: str
    votes: int
    reason: str


def decode_proposal_created(topics: Sequence[bytes], data: bytes) -> Proposal:
    if len(topics) != 1 or topics[0] != PROPOSAL_CREATED:
        raise ChainDecodeError("not a ProposalCreated log (topic0 only expected)")
    types = [
        "uint256",
        "address",
        "address[]",
        "uint256[]",
        "string[]",
        "bytes[]",
        "uint256",
        "uint256",
        "string",
    ]
    values = _decode_dynamic(types, data, "ProposalCreated")
    return Proposal(
        proposal_id=values[0],
        proposer=str(values[1]).lower(),
        start_block=values[6],
        end_block=values[7],
        description=values[8],
    )


def decode_vote_cast(topics: Sequence[bytes], data: bytes) -> Vote:
    if topics and topics[0] == VOTE_CAST_ALPHA:
        if len(topics) != 1:
            raise ChainDecodeError("GovernorAlpha VoteCast has no indexed fields")
        voter, proposal, support, votes = decode_words(
            ["address", "uint256", "bool", "uint256"], data, "VoteCast"
        )
        label = "for" if support else "against"
        return Vote(str(voter).lower(), proposal, label, votes, "")
    if len(topics) != 2 or topics[0] != VOTE_CAST:
        raise ChainDecodeError("not a VoteCast log (topic0 and 2 topics expected)")
    proposal, support, votes, reason = _decode_dynamic(
        ["uint256", "uint8", "uint256", "string"], data, "VoteCast"
    )
    if support not in SUPPORT:
        raise ChainDecodeError(f"VoteCast: support {support} is not 0, 1 or 2")
    return Vote(topic_address(topics[1]), proposal, SUPPORT[support], votes, reason)


def governance_envelopes(
    log: Log, *, received_ms: int, block_time_ms: int | None
) -> list[Envelope[Any]]:
    """A ``ProposalCreated`` or ``VoteCast`` log → one ``GovernanceEvent``.

    Votes are in whole governance tokens (the governor's token decimals from the registry); an
    unknown governor's protocol is ``unknown``, its votes raw integers, flag ``unknown_governor``.
    """
    governor = governor_at(log.chain, log.address)
    flags = () if governor is not None else ("unknown_governor",)
    protocol = governor.protocol if governor is not None else "unknown"
    common: dict[str, Any] = {
        "protocol": protocol,
        "chain": log.chain,
        "tx_hash": log.tx_hash,
        "block_number": log.block_number,
        "log_index": log.log_index,
    }
    if log.topics and log.topics[0] == PROPOSAL_CREATED:
        proposal = decode_proposal_created(log.topics, log.data)
        data = GovernanceEvent(
            proposal_id=str(proposal.proposal_id),
            event_type="proposal_created",
            title=proposal.title,
            proposer=proposal.proposer,
            **common,
        )
    else:
        vote = decode_vote_cast(log.topics, log.data)
        decimals = governor.vote_decimals if governor is not None else 0
        data = GovernanceEvent(
            proposal_id=str(vote.proposal_id),
            event_type="vote_cast",
            voter=vote.voter,
            support=vote.support,
            votes=float(Decimal(vote.votes).scaleb(-decimals)),
            **common,
        )
    return [
        wrap_log(
            data,
            log,
            key="governance",
            received_ms=received_ms,
            block_time_ms=block_time_ms,
            quality_flags=flags,
        )
    ]


def _decode_dynamic(types: list[str], data: bytes, what: str) -> tuple[Any, ...]:
    """ABI-decode data holding dynamic values (strings, arrays); any failure is ours to name."""
    try:
        return tuple(abi_decode(types, data, strict=True))
    except Exception as exc:  # eth-abi raises several unrelated types for bad data
        raise ChainDecodeError(f"{what}: bad ABI data: {exc}") from None
