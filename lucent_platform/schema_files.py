"""Envelope schema files, generated from the message models and kept backward compatible.

Per message kind there is one Avro schema of the whole envelope,
``schemas/avro/<message_type>/v<N>.avsc``, and its JSON Schema twin,
``schemas/json/<message_type>/v<N>.json``. A model change is a new version ``N + 1``, never an
edit of an old file, and every version must read data written with every older one (the design
record's "backward compatible changes only"), as checked by ``avro.compatibility``.

    python -m lucent_platform.schema_files --check   # the files match the models (CI)
    python -m lucent_platform.schema_files --write   # add a new version where a model changed
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import avro.schema
import msgspec
import msgspec.inspect as mi
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

from lucent_platform.envelope import Envelope
from lucent_platform.messages import MESSAGE_TYPES, MessageData

SCHEMA_DIR = Path(__file__).parent / "schemas"
NAMESPACE = "lucent.market"
FORMATS = {"avro": "avsc", "json": "json"}
_VERSION_FILE = re.compile(r"v(\d+)\.(avsc|json)")

Kinds = Mapping[str, type[MessageData]]

# Constraints (``Meta(ge=...)``) have no Avro form; an Int64 is what makes ``long`` exact.
_AVRO_PRIMITIVES: dict[type[mi.Type], str] = {
    mi.StrType: "string",
    mi.IntType: "long",
    mi.FloatType: "double",
    mi.BoolType: "boolean",
    mi.BytesType: "bytes",
    mi.NoneType: "null",
}


class SchemaEvolutionError(ValueError):
    """A model change would break readers of older messages; it needs a new message kind."""


def avro_schema(kind: type[MessageData]) -> dict[str, Any]:
    """The Avro schema of ``Envelope[kind]``, derived field by field from the msgspec model.

    Fields keep their wire (camelCase) names and order; ``X | None`` becomes
    ``["null", X]`` with default ``null``; string ``Literal``s become enums.
    """
    info = mi.type_info(Envelope[kind])  # type: ignore[valid-type]
    assert isinstance(info, mi.StructType)
    return _AvroBuilder().record(info, f"{kind.__name__}Envelope")  # type: ignore[return-value]


def json_schema(kind: type[MessageData]) -> dict[str, Any]:
    """The JSON Schema (2020-12) of ``Envelope[kind]``, without the models' docstrings.

    Docstrings are dropped so that editing one does not look like a schema change.
    """
    schema = msgspec.json.schema(Envelope[kind])  # type: ignore[valid-type]
    for definition in schema.get("$defs", {}).values():
        definition.pop("description", None)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


class _AvroBuilder:
    """Turns msgspec type info into Avro; each named type is defined once, then referenced."""

    def __init__(self) -> None:
        self.defined: set[str] = set()

    def record(self, info: mi.StructType, name: str | None = None) -> dict[str, Any] | str:
        name = name or info.cls.__name__
        if name in self.defined:
            return f"{NAMESPACE}.{name}"
        self.defined.add(name)
        fields = [self.field(field, owner=name) for field in info.fields]
        return {"type": "record", "name": name, "namespace": NAMESPACE, "fields": fields}

    def field(self, field: mi.Field, owner: str) -> dict[str, Any]:
        avro_type = self.type(
            field.type, owner + field.encode_name[:1].upper() + field.encode_name[1:]
        )
        out: dict[str, Any] = {"name": field.encode_name, "type": avro_type}
        if not field.required:
            default = field.default
            if default is msgspec.NODEFAULT:
                default = field.default_factory()  # type: ignore[operator]
            if isinstance(avro_type, list) and default is not None:
                # Avro takes a union's default from its first branch: put null last.
                avro_type.sort(key=lambda branch: branch == "null")
            out["default"] = list(default) if isinstance(default, tuple) else default
        return out

    def type(self, t: mi.Type, name: str) -> Any:
        """The Avro type of ``t``; ``name`` names an enum made from a ``Literal``."""
        if type(t) in _AVRO_PRIMITIVES:
            return _AVRO_PRIMITIVES[type(t)]
        if isinstance(t, mi.Metadata):  # Annotated with a description or examples
            return self.type(t.type, name)
        if isinstance(t, mi.StructType):
            return self.record(t)
        if isinstance(t, mi.ListType | mi.VarTupleType):
            return {"type": "array", "items": self.type(t.item_type, name)}
        if isinstance(t, mi.TupleType) and all(item == t.item_types[0] for item in t.item_types):
            return {"type": "array", "items": self.type(t.item_types[0], name)}
        if isinstance(t, mi.DictType) and isinstance(t.key_type, mi.StrType):
            return {"type": "map", "values": self.type(t.value_type, name)}
        if isinstance(t, mi.LiteralType) and all(isinstance(v, str) for v in t.values):
            return {"type": "enum", "name": name, "namespace": NAMESPACE, "symbols": list(t.values)}
        if isinstance(t, mi.UnionType):
            branches = [self.type(branch, name) for branch in t.types]
            return sorted(branches, key=lambda branch: branch != "null")
        raise TypeError(f"no Avro mapping for {t!r} (in {name})")


def schema_path(
    message_type: str, version: int, fmt: str = "avro", root: Path = SCHEMA_DIR
) -> Path:
    return root / fmt / message_type / f"v{version}.{FORMATS[fmt]}"


def versions(message_type: str, fmt: str = "avro", root: Path = SCHEMA_DIR) -> list[int]:
    """The checked-in versions of a kind's schema, oldest first."""
    folder = root / fmt / message_type
    found = (_VERSION_FILE.fullmatch(path.name) for path in folder.glob(f"v*.{FORMATS[fmt]}"))
    return sorted(int(match.group(1)) for match in found if match)


def load(message_type: str, version: int, fmt: str = "avro", root: Path = SCHEMA_DIR) -> Any:
    return json.loads(schema_path(message_type, version, fmt, root).read_text())


def incompatibilities(reader: Mapping[str, Any], writer: Mapping[str, Any]) -> list[str]:
    """Why ``reader`` cannot read all data written with ``writer`` (empty: it can)."""
    result = ReaderWriterCompatibilityChecker().get_compatibility(
        avro.schema.parse(json.dumps(reader)), avro.schema.parse(json.dumps(writer))
    )
    if result.compatibility is SchemaCompatibilityType.compatible:
        return []
    kinds = ", ".join(sorted(kind.value for kind in result.incompatibilities))
    return [
        f"{kinds}: {'; '.join(sorted(result.messages))} at {', '.join(sorted(result.locations))}"
    ]


def check(root: Path = SCHEMA_DIR, kinds: Kinds = MESSAGE_TYPES) -> list[str]:
    """Every problem with the checked-in schemas (empty when all is well).

    Problems: a kind without files, a newest file that differs from the model (the model
    changed without a new version), ``schema_version`` not the newest file, and a version that
    cannot read an older one.
    """
    problems: list[str] = []
    for message_type, kind in kinds.items():
        found = versions(message_type, "avro", root)
        if not found or versions(message_type, "json", root) != found:
            problems.append(f"{message_type}: Avro and JSON versions differ or are missing")
            continue
        newest = found[-1]
        for fmt, generated in (("avro", avro_schema(kind)), ("json", json_schema(kind))):
            if load(message_type, newest, fmt, root) != generated:
                problems.append(f"{message_type}: the model differs from {fmt} v{newest}")
        if kind.schema_version != newest:
            problems.append(
                f"{message_type}: {kind.__name__}.schema_version is {kind.schema_version}, "
                f"the newest schema is v{newest}"
            )
        for i, reader_version in enumerate(found):
            reader = load(message_type, reader_version, "avro", root)
            for writer_version in found[:i]:
                writer = load(message_type, writer_version, "avro", root)
                problems += [
                    f"{message_type}: v{reader_version} cannot read v{writer_version}: {why}"
                    for why in incompatibilities(reader, writer)
                ]
    return problems


def write_latest(root: Path = SCHEMA_DIR, kinds: Kinds = MESSAGE_TYPES) -> list[Path]:
    """Write a new version for each kind whose model differs from its newest files.

    Raises ``SchemaEvolutionError`` (writing nothing for that kind) if the model could not
    read every older version. Returns the files written.
    """
    written: list[Path] = []
    for message_type, kind in kinds.items():
        generated = {"avro": avro_schema(kind), "json": json_schema(kind)}
        found = versions(message_type, "avro", root)
        newest = found[-1] if found else 0
        if found and all(load(message_type, newest, f, root) == s for f, s in generated.items()):
            continue
        for version in found:
            why = incompatibilities(generated["avro"], load(message_type, version, "avro", root))
            if why:
                raise SchemaEvolutionError(f"{message_type}: cannot read v{version}: {why[0]}")
        for fmt, schema in generated.items():
            path = schema_path(message_type, newest + 1, fmt, root)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(schema, indent=2) + "\n")
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lucent_platform.schema_files")
    parser.add_argument("--write", action="store_true", help="add versions for changed models")
    args = parser.parse_args(argv)
    if args.write:
        for path in write_latest():
            print(f"wrote {path}")
    problems = check()
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
