"""Values made to fit an export's Arrow types exactly, so jsonl, Parquet and `hf` hold the same values: a
struct gets every field (null when missing), an integral float in an integer column becomes an int, an
int in a float column a float. Anything else that does not fit is refused (`DoesNotFit`, naming where),
never cast: a record's meta keeps it in `meta_extra` instead (see schema.py)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import pyarrow as pa

INT64_RANGE = (-(2**63), 2**63 - 1)


class DoesNotFit(ValueError):
    def __init__(self, path: str, problem: str):
        super().__init__(f"{path}: {problem}")
        self.path = path


def conform(value: Any, type_: pa.DataType, path: str = "value") -> Any:
    if value is None:
        return None
    if pa.types.is_struct(type_):
        return conform_struct(value, type_, path)
    if pa.types.is_list(type_):
        if not isinstance(value, (list, tuple)):
            raise DoesNotFit(path, f"expected a list, found {type(value).__name__}")
        return [conform(item, type_.value_type, f"{path}[{index}]") for index, item in enumerate(value)]
    if pa.types.is_string(type_):
        if isinstance(value, str):
            return value
    elif pa.types.is_boolean(type_):
        if isinstance(value, bool):
            return value
    elif pa.types.is_integer(type_):
        number = integral(value)
        if number is not None and INT64_RANGE[0] <= number <= INT64_RANGE[1]:
            return number
    elif pa.types.is_floating(type_):
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
    else:
        raise TypeError(f"{path}: no conversion to {type_}")
    raise DoesNotFit(path, f"{json_text(value)[:60]} is not a {type_}")


def conform_struct(value: Any, type_: pa.StructType, path: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise DoesNotFit(path, f"expected an object, found {type(value).__name__}")
    names = {field.name for field in type_}
    unknown = sorted(str(key) for key in value if key not in names)
    if unknown:
        raise DoesNotFit(path, f"unexpected key {unknown[0]!r} (expected {', '.join(sorted(names))})")
    return {field.name: conform(value.get(field.name), field.type, f"{path}.{field.name}") for field in type_}


def integral(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)


def as_text(value: Any) -> str | None:
    """A free-form value as text: a string as it is, anything else as its JSON."""
    if value is None or isinstance(value, str):
        return value
    return json_text(value)


def conform_row(row: dict[str, Any], schema: pa.Schema, where: str) -> dict[str, Any]:
    """Every column of the schema, in its order; a value that does not fit names the row and the field."""
    unknown = set(row) - set(schema.names)
    if unknown:
        raise DoesNotFit(where, f"columns not in the export's schema: {', '.join(sorted(unknown))}")
    try:
        return {field.name: conform(row.get(field.name), field.type, field.name) for field in schema}
    except DoesNotFit as exc:
        raise DoesNotFit(where, str(exc)) from exc


def split_meta(meta: Mapping[str, Any], fields: dict[str, pa.DataType],
               leave_out: frozenset[str] = frozenset()) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A record's meta as (the typed struct of the kind's known keys, [{key, value}] of the rest)."""
    typed: dict[str, Any] = {}
    extra: list[dict[str, Any]] = []
    for key, value in meta.items():
        if key in leave_out:
            continue
        if key in fields:
            try:
                typed[key] = conform(value, fields[key], f"meta.{key}")
                continue
            except DoesNotFit:
                pass  # kept as text below, so nothing is lost
        extra.append({"key": str(key), "value": as_text(value)})
    return {name: typed.get(name) for name in fields}, sorted(extra, key=lambda entry: entry["key"])
