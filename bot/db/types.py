"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Enum, Integer
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as UTC and always read back as aware UTC.

    PostgreSQL keeps it in a timestamptz; SQLite, which has no time zones, keeps naive UTC.
    Naive datetimes are refused: a time without a zone is a bug waiting to happen.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def json_document() -> TypeEngine[Any]:
    """JSONB on PostgreSQL (binary, comparable, indexable), JSON text on SQLite.

    Python None is SQL NULL, never the JSON text "null". A new instance on every call:
    `MutableDict.as_mutable` attaches itself to every column sharing one type instance.
    """
    return JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


# A surrogate key that never runs out on PostgreSQL; on SQLite only INTEGER PRIMARY KEY
# is the auto-numbered rowid, and it is 64-bit there anyway.
BigIntegerKey: TypeEngine[int] = BigInteger().with_variant(Integer(), "sqlite")


def string_enum(enum: type[StrEnum]) -> Enum:
    """A VARCHAR column holding the enum's values (not names), with no database CHECK.

    No CHECK and no native enum type, so adding a state later needs no migration.
    """
    return Enum(
        enum,
        native_enum=False,
        create_constraint=False,
        length=32,
        validate_strings=True,
        values_callable=lambda members: [member.value for member in members],
    )
