"""Schema files match the models, every version reads every older one, and they fit the data."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any, cast

import avro.io
import avro.schema
import jsonschema
import msgspec
import pytest

from lucent_platform.envelope import Envelope, encode
from lucent_platform.messages import MESSAGE_TYPES, MessageData
from lucent_platform.schema_files import (
    SCHEMA_DIR,
    SchemaEvolutionError,
    avro_schema,
    check,
    incompatibilities,
    json_schema,
    load,
    main,
    versions,
    write_latest,
)
from tests.message_samples import sample_envelope

KINDS = sorted(MESSAGE_TYPES)


@pytest.mark.parametrize("message_type", KINDS)
def test_newest_checked_in_schemas_are_the_models(message_type: str) -> None:
    """A model change without a new schema version fails here: run ``--write``."""
    kind = MESSAGE_TYPES[message_type]
    newest = versions(message_type)[-1]

    assert load(message_type, newest, "avro") == avro_schema(kind)
    assert load(message_type, newest, "json") == json_schema(kind)
    assert versions(message_type, "json") == versions(message_type, "avro")
    assert kind.schema_version == newest


@pytest.mark.parametrize("message_type", KINDS)
def test_every_version_reads_every_older_version(message_type: str) -> None:
    found = versions(message_type)
    for i, reader in enumerate(found):
        for writer in found[:i]:
            assert incompatibilities(load(message_type, reader), load(message_type, writer)) == []


def test_check_finds_nothing_wrong_with_the_checked_in_files() -> None:
    assert check() == []
    assert main([]) == 0


def _record(*fields: dict[str, Any]) -> dict[str, Any]:
    return {"type": "record", "name": "Quote", "namespace": "lucent.market", "fields": list(fields)}


PRICE = {"name": "price", "type": "double"}


@pytest.mark.parametrize(
    ("reader", "writer", "compatible"),
    [
        (_record(PRICE, {"name": "venue", "type": "string"}), _record(PRICE), False),
        (
            _record(PRICE, {"name": "venue", "type": ["null", "string"], "default": None}),
            _record(PRICE),
            True,
        ),
        (_record(PRICE), _record(PRICE, {"name": "venue", "type": "string"}), True),
        (_record({"name": "price", "type": "string"}), _record(PRICE), False),
        (_record(PRICE), _record({"name": "price", "type": "long"}), True),
        (_record(PRICE), _record({"name": "price", "type": ["null", "double"]}), False),
    ],
    ids=[
        "required-field-added",
        "optional-field-added",
        "field-removed",
        "type-changed",
        "long-widened-to-double",
        "made-required",
    ],
)
def test_the_compatibility_check_itself(
    reader: dict[str, Any], writer: dict[str, Any], compatible: bool
) -> None:
    found = incompatibilities(reader, writer)
    assert (found == []) is compatible, found


def _changed_price_update(*extra_fields: tuple[Any, ...]) -> type[MessageData]:
    """``PriceUpdate`` as a later model might define it: same name, extra fields at the end."""
    fields: list[tuple[Any, ...]] = [
        (f.name, f.type) if f.required else (f.name, f.type, f.default)
        for f in msgspec.structs.fields(MESSAGE_TYPES["price_update"])
    ]
    kind = msgspec.defstruct(
        "PriceUpdate", [*fields, *extra_fields], bases=(MessageData,), kw_only=True, module=__name__
    )
    kind.message_type = "price_update"  # type: ignore[attr-defined]
    return cast(type[MessageData], kind)


def shipped_schemas(tmp_path: Path) -> Path:
    """A copy of the checked-in schema files, to evolve without touching the real ones."""
    root = tmp_path / "schemas"
    shutil.copytree(SCHEMA_DIR, root)
    return root


def test_write_latest_adds_a_version_for_a_compatible_change(tmp_path: Path) -> None:
    root = shipped_schemas(tmp_path)
    assert write_latest(root) == []  # the checked-in files match the models: nothing written
    assert check(root) == []
    current = versions("price_update", root=root)[-1]

    changed = {"price_update": _changed_price_update(("vwap", float | None, None))}
    written = write_latest(root, kinds=changed)

    assert sorted(p.relative_to(root).as_posix() for p in written) == [
        f"avro/price_update/v{current + 1}.avsc",
        f"json/price_update/v{current + 1}.json",
    ]
    assert versions("price_update", root=root) == [*range(1, current + 2)]
    # The model still says the old version: the check says so until it is bumped.
    assert check(root, kinds=changed) == [
        f"price_update: PriceUpdate.schema_version is {changed['price_update'].schema_version}, "
        f"the newest schema is v{current + 1}"
    ]


def test_write_latest_refuses_an_incompatible_change(tmp_path: Path) -> None:
    root = shipped_schemas(tmp_path)
    before = versions("price_update", root=root)
    changed = {"price_update": _changed_price_update(("vwap", float))}

    with pytest.raises(SchemaEvolutionError, match="reader_field_missing_default_value"):
        write_latest(root, kinds=changed)
    assert versions("price_update", root=root) == before


@pytest.mark.parametrize("message_type", KINDS)
def test_json_schema_validates_encoded_envelopes(message_type: str) -> None:
    validator = jsonschema.Draft202012Validator(
        load(message_type, versions(message_type)[-1], "json")
    )
    frame = json.loads(encode(sample_envelope(message_type)))

    validator.validate(frame)
    frame["header"]["eventTimeMs"] = "soon"
    assert not validator.is_valid(frame)


@pytest.mark.parametrize("message_type", KINDS)
def test_avro_schema_writes_and_reads_the_envelope(message_type: str) -> None:
    schema = avro.schema.parse(json.dumps(load(message_type, versions(message_type)[-1])))
    envelope = sample_envelope(message_type)
    # The JSON form (levels as lists, not tuples), plus the fields JSON leaves out at their
    # default: Avro writes every field.
    datum = _with_defaults(
        json.loads(encode(envelope)), load(message_type, versions(message_type)[-1])
    )

    buffer = io.BytesIO()
    avro.io.DatumWriter(schema).write(datum, avro.io.BinaryEncoder(buffer))
    buffer.seek(0)
    read_back = avro.io.DatumReader(schema).read(avro.io.BinaryDecoder(buffer))

    assert read_back == datum
    kind = MESSAGE_TYPES[message_type]
    assert msgspec.convert(read_back, Envelope[kind]) == envelope  # type: ignore[valid-type]


def _with_defaults(value: Any, schema: Any) -> Any:
    if isinstance(schema, list):  # a union: the branch that fits
        branch = next((b for b in schema if b != "null"), "null") if value is not None else "null"
        return _with_defaults(value, branch)
    if isinstance(schema, dict) and schema.get("type") == "record":
        return {
            f["name"]: _with_defaults(value.get(f["name"], f.get("default")), f["type"])
            for f in schema["fields"]
        }
    return value
