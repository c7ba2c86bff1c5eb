"""Governor decoders: ``ProposalCreated`` and ``VoteCast`` (Bravo/OpenZeppelin and Alpha).

No recorded governor log was found in time, so these logs are BUILT here with eth-abi from the
events' documented layouts (PROVENANCE.md says so); they check decoding, titles and units.
"""

from __future__ import annotations

import contextlib
from typing import Any

from eth_abi import encode
from hypothesis import given
from hypothesis import strategies as st

from lucent_platform.chains.abi import ChainDecodeError
from lucent_platform.chains.governance import (
    PROPOSAL_CREATED,
    VOTE_CAST,
    VOTE_CAST_ALPHA,
    decode_proposal_created,
    decode_vote_cast,
    governance_envelopes,
)
from lucent_platform.chains.logs import parse_log
from tests.chain_fixtures import recorded_logs

GOVERNOR = "0xc0da02939e1441f497fd74f78ce7decb17b66529"
VOTER = "0x" + "ab" * 20


def log_object(topics: list[str], data: bytes, address: str = GOVERNOR) -> dict[str, Any]:
    return {
        "address": address,
        "topics": topics,
        "data": "0x" + data.hex(),
        "blockNumber": "0xf42400",
        "transactionHash": "0x" + "7a" * 32,
        "transactionIndex": "0x1",
        "blockHash": "0x" + "b2" * 32,
        "logIndex": "0x2",
        "removed": False,
    }


def test_proposal_created_title_and_proposer() -> None:
    data = encode(
        [
            "uint256",
            "address",
            "address[]",
            "uint256[]",
            "string[]",
            "bytes[]",
            "uint256",
            "uint256",
            "string",
        ],
        [
            117,
            VOTER,
            [GOVERNOR],
            [0],
            ["_setReserveFactor(uint256)"],
            [b"\x01" * 32],
            16000010,
            16019720,
            "# Reduce DAI reserve factor\n\nLonger text.",
        ],
    )
    obj = log_object(["0x" + PROPOSAL_CREATED.hex()], data)
    (envelope,) = governance_envelopes(parse_log(obj, chain_id=1), received_ms=2, block_time_ms=1)
    data_ = envelope.data
    assert (data_.protocol, data_.proposal_id, data_.event_type) == (
        "compound",
        "117",
        "proposal_created",
    )
    assert data_.title == "Reduce DAI reserve factor"
    assert data_.proposer == VOTER
    assert (data_.block_number, data_.log_index) == (16_000_000, 2)


def test_vote_cast_support_and_votes_in_tokens() -> None:
    votes = 12_345 * 10**18 + 5 * 10**17
    obj = log_object(
        ["0x" + VOTE_CAST.hex(), "0x" + "00" * 12 + VOTER[2:]],
        encode(["uint256", "uint8", "uint256", "string"], [117, 1, votes, "lgtm"]),
    )
    (envelope,) = governance_envelopes(parse_log(obj, chain_id=1), received_ms=2, block_time_ms=1)
    assert (envelope.data.voter, envelope.data.support) == (VOTER, "for")
    assert envelope.data.votes == votes / 10**18 == 12345.5
    alpha = log_object(
        ["0x" + VOTE_CAST_ALPHA.hex()],
        encode(["address", "uint256", "bool", "uint256"], [VOTER, 42, False, 10**18]),
    )
    (envelope,) = governance_envelopes(parse_log(alpha, chain_id=1), received_ms=2, block_time_ms=1)
    assert (envelope.data.proposal_id, envelope.data.support, envelope.data.votes) == (
        "42",
        "against",
        1.0,
    )


def test_an_unknown_governor_keeps_raw_votes_and_says_why() -> None:
    obj = log_object(
        ["0x" + VOTE_CAST.hex(), "0x" + "00" * 12 + VOTER[2:]],
        encode(["uint256", "uint8", "uint256", "string"], [3, 2, 7, ""]),
        address="0x" + "33" * 20,
    )
    (envelope,) = governance_envelopes(parse_log(obj, chain_id=1), received_ms=2, block_time_ms=1)
    assert (envelope.data.protocol, envelope.data.support, envelope.data.votes) == (
        "unknown",
        "abstain",
        7.0,
    )
    assert envelope.metadata.quality_flags == ["unknown_governor"]


@given(
    topics=st.lists(
        st.one_of(
            st.sampled_from([PROPOSAL_CREATED, VOTE_CAST, VOTE_CAST_ALPHA]), st.binary(max_size=40)
        ),
        max_size=3,
    ),
    data=st.binary(max_size=400),
)
def test_any_topics_and_bytes_fail_only_with_chain_decode_error(
    topics: list[bytes], data: bytes
) -> None:
    for decode in (decode_proposal_created, decode_vote_cast):
        with contextlib.suppress(ChainDecodeError):
            decode(topics, data)


def test_recorded_governor_alpha_vote() -> None:
    """Real on-chain values of a Compound GovernorAlpha vote (block 12115107; PROVENANCE.md)."""
    (obj,) = recorded_logs("compound_governor/log_VoteCast_alpha_built.json")
    (envelope,) = governance_envelopes(parse_log(obj, chain_id=1), received_ms=2, block_time_ms=1)
    words = [int(obj["data"][2 + 64 * i : 2 + 64 * (i + 1)], 16) for i in range(4)]
    data = envelope.data
    assert (data.protocol, data.event_type) == ("compound", "vote_cast")
    assert data.voter == "0x" + f"{words[0]:040x}" == "0x0dc1f2633d657122d67735d9606e0b29f5523aef"
    assert data.proposal_id == str(words[1]) == "42"
    assert data.support == ("for" if words[2] == 1 else "against") == "for"
    assert data.votes == words[3] / 10**18
    assert (data.block_number, data.log_index) == (12115107, 146)
    assert envelope.metadata.quality_flags is None
