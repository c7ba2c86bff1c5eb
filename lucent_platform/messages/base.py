"""The bases every envelope part derives from.

Envelope parts are msgspec Structs: typed, frozen, decoded straight from bytes. Wire names are
the design record's camelCase (``tvl_usd`` in Python is ``tvlUsd`` on the wire); fields a
producer does not know are ignored when decoding (the design record's "graceful degradation for
unknown fields"), and optional fields left at their default are omitted when encoding.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

import msgspec


class WireStruct(msgspec.Struct, rename="camel", frozen=True, omit_defaults=True, gc=False):
    """A camelCase, frozen value of the envelope.

    ``gc=False``: these values never hold references back to themselves, so the garbage
    collector need not track the millions of them a worker decodes. Subclasses repeat
    ``frozen=True``: msgspec inherits it, but type checkers would not know.
    """


class MessageData(WireStruct, frozen=True):
    """The ``data`` part of an envelope; each subclass is one message kind.

    ``message_type`` is the kind's ``header.messageType``. ``schema_version`` is the newest
    checked-in schema of the kind (``schemas/avro/<message_type>/v<N>.avsc``) and goes into
    ``header.version`` as ``"<N>.0"``; the schema tests fail until the model, the file and this
    number move together.
    """

    message_type: ClassVar[str]
    schema_version: ClassVar[int] = 1


Int64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
"""An integer that fits an Avro ``long``: JSON allows any size, our other encodings do not."""

PriceLevel = tuple[float, float]
"""One order-book level on the wire: ``[price, size]``."""
