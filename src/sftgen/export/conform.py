"""Values made to fit an export's Arrow types exactly, so jsonl, Parquet and `hf` hold the same values: a
struct gets every field (null when missing), an integral float in an integer column becomes an int, an
int in a float column a float. Anything else that does not fit is refused (`DoesNotFit`, naming where),
never cast: a record's meta keeps it in `meta_extra` instead (see schema.py)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
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
    try:
        return converter(type_)(value)
    except Misfit as misfit:
        raise DoesNotFit(path + misfit.where, misfit.problem) from None


def conform_struct(value: Any, type_: pa.StructType, path: str) -> dict[str, Any]:
    try:
        return converter(type_)(value)
    except Misfit as misfit:
        raise DoesNotFit(path + misfit.where, misfit.problem) from None


class Misfit(Exception):
    """A value that does not fit, raised inside a converter: `where` is its path below the converted value
    (".field", "[3]"), built only on the way out, so a value that fits costs no path strings."""

    def __init__(self, problem: str, where: str = ""):
        self.problem = problem
        self.where = where


Converter = Callable[[Any], Any]
CONVERTERS: dict[pa.DataType, Converter] = {}


def converter(type_: pa.DataType) -> Converter:
    """The function that makes a (non-None) value fit `type_`: built once per type, so converting a row walks
    no Arrow type checks."""
    made = CONVERTERS.get(type_)
    if made is None:
        made = CONVERTERS[type_] = make_converter(type_)
    return made


def make_converter(type_: pa.DataType) -> Converter:
    if pa.types.is_struct(type_):
        return struct_converter(type_)
    if pa.types.is_list(type_):
        return list_converter(type_)
    if pa.types.is_string(type_):
        return scalar_converter(type_, lambda value: value if isinstance(value, str) else MISSING)
    if pa.types.is_boolean(type_):
        return scalar_converter(type_, lambda value: value if isinstance(value, bool) else MISSING)
    if pa.types.is_integer(type_):
        return scalar_converter(type_, fit_integer)
    if pa.types.is_floating(type_):
        return scalar_converter(type_, fit_float)

    def refuse(value: Any) -> Any:
        raise TypeError(f"no conversion to {type_}")
    return refuse


MISSING = object()


def fit_integer(value: Any) -> Any:
    number = integral(value)
    if number is not None and INT64_RANGE[0] <= number <= INT64_RANGE[1]:
        return number
    return MISSING


def fit_float(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return MISSING


def scalar_converter(type_: pa.DataType, fit: Callable[[Any], Any]) -> Converter:
    def convert(value: Any) -> Any:
        fitted = fit(value)
        if fitted is MISSING:
            raise Misfit(f"{json_text(value)[:60]} is not a {type_}")
        return fitted
    return convert


def list_converter(type_: pa.ListType) -> Converter:
    item_converter = converter(type_.value_type)

    def convert(value: Any) -> list[Any]:
        if not isinstance(value, (list, tuple)):
            raise Misfit(f"expected a list, found {type(value).__name__}")
        out = []
        for index, item in enumerate(value):
            if item is None:
                out.append(None)
                continue
            try:
                out.append(item_converter(item))
            except Misfit as misfit:
                raise Misfit(misfit.problem, f"[{index}]{misfit.where}") from None
        return out
    return convert


def struct_converter(type_: pa.StructType) -> Converter:
    fields = [(field.name, converter(field.type)) for field in type_]
    names = frozenset(name for name, _ in fields)
    expected = ", ".join(sorted(names))
    only_strings = all(pa.types.is_string(field.type) for field in type_)
    """e.g. a provenance entry or a message: a dict of str or None values fits as it is, in field order."""

    def convert(value: Any) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise Misfit(f"expected an object, found {type(value).__name__}")
        if not names.issuperset(value):
            unknown = sorted(str(key) for key in value if key not in names)
            raise Misfit(f"unexpected key {unknown[0]!r} (expected {expected})")
        if only_strings:
            out = {name: value.get(name) for name, _ in fields}
            if all(item is None or type(item) is str for item in out.values()):
                return out
        return convert_fields(value, fields, ".")
    return convert


def convert_fields(value: Mapping[str, Any], fields: Iterable[tuple[str, Converter]], prefix: str) -> dict[str, Any]:
    """Each field's value converted, in the fields' order (a missing or None value stays None); a misfit
    names the field after `prefix` ("." inside a struct, nothing for a row's column)."""
    out = {}
    for name, convert_field in fields:
        item = value.get(name)
        if item is None:
            out[name] = None
            continue
        try:
            out[name] = convert_field(item)
        except Misfit as misfit:
            raise Misfit(misfit.problem, f"{prefix}{name}{misfit.where}") from None
    return out


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
    try:
        return fit_row(row, row_converter(schema))
    except Misfit as misfit:
        raise DoesNotFit(where, misfit.problem if not misfit.where else f"{misfit.where}: {misfit.problem}") from None


def fit_row(row: dict[str, Any], fields: dict[str, Converter]) -> dict[str, Any]:
    """`conform_row` with the schema's converters (`row_converter`) at hand; raises Misfit (where: the field)."""
    if len(row) > len(fields) or not all(name in fields for name in row):
        unknown = [name for name in row if name not in fields]
        if unknown:
            raise Misfit(f"columns not in the export's schema: {', '.join(sorted(unknown))}")
    return convert_fields(row, fields.items(), "")


def row_converter(schema: pa.Schema) -> dict[str, Converter]:
    """Column name -> the converter of its type, in the schema's order."""
    return {field.name: converter(field.type) for field in schema}


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
