"""Deterministic JSON instances that are valid against a JSON schema (the subset pydantic emits).

Supported: object (properties, required, additionalProperties, minProperties), string (enum,
minLength, maxLength, a few formats, simple patterns), integer/number (minimum, maximum, exclusive
bounds, multipleOf), boolean, null, array (items, prefixItems, minItems, maxItems, uniqueItems),
`$ref` into `$defs`/`definitions`, anyOf/oneOf/allOf, const, enum, and type lists.
Strings are made of words taken from the request, so different requests give different content.
"""

from __future__ import annotations

import math
import random
import re
import uuid
from typing import Any

# Beyond this depth recursive schemas are closed off: optional fields are left out, arrays are
# kept at their minimum and nullable branches are preferred.
MAX_DEPTH = 6
DEFAULT_WORDS = ("data", "model", "answer", "source", "record", "topic", "review", "sample")


def instance_for_schema(schema: dict[str, Any], rng: random.Random, words: list[str]) -> Any:
    """A value valid against `schema`, drawn with `rng`, its strings built from `words`."""
    generator = _InstanceGenerator(root=schema, rng=rng, words=list(words) or list(DEFAULT_WORDS))
    return generator.value(schema, depth=0)


class _InstanceGenerator:
    def __init__(self, root: dict[str, Any], rng: random.Random, words: list[str]) -> None:
        self.root = root
        self.rng = rng
        self.words = words

    def value(self, schema: dict[str, Any] | bool, depth: int) -> Any:
        if schema is True or schema == {}:
            return self.text(1, 4)
        schema = self.resolved(schema)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return self.rng.choice(schema["enum"])
        for keyword in ("anyOf", "oneOf"):
            if keyword in schema:
                return self.value(self.pick_branch(schema[keyword], depth), depth)
        if "allOf" in schema:
            return self.value(self.merged(schema), depth)
        return self.typed_value(schema, self.schema_type(schema, depth), depth)

    def typed_value(self, schema: dict[str, Any], type_name: str, depth: int) -> Any:
        if type_name == "object":
            return self.object_value(schema, depth)
        if type_name == "array":
            return self.array_value(schema, depth)
        if type_name == "integer":
            return self.integer_value(schema)
        if type_name == "number":
            return self.number_value(schema)
        if type_name == "boolean":
            return self.rng.random() < 0.5
        if type_name == "null":
            return None
        return self.string_value(schema)

    # --- schema plumbing ---------------------------------------------------------------------

    def resolved(self, schema: dict[str, Any]) -> dict[str, Any]:
        """Follow `$ref` (JSON pointers into the root); sibling keywords override the target."""
        while "$ref" in schema:
            target = self.pointer_target(schema["$ref"])
            siblings = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**target, **siblings}
        return schema

    def pointer_target(self, ref: str) -> dict[str, Any]:
        if not ref.startswith("#"):
            raise ValueError(f"only local $ref is supported, got {ref!r}")
        node: Any = self.root
        for part in filter(None, ref[1:].split("/")):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def merged(self, schema: dict[str, Any]) -> dict[str, Any]:
        """allOf flattened into one schema (properties and required are unioned)."""
        result = {k: v for k, v in schema.items() if k != "allOf"}
        for part in schema["allOf"]:
            part = self.resolved(part)
            if "allOf" in part:
                part = self.merged(part)
            for key, val in part.items():
                if key == "properties":
                    result["properties"] = {**result.get("properties", {}), **val}
                elif key == "required":
                    result["required"] = sorted(set(result.get("required", [])) | set(val))
                else:
                    result.setdefault(key, val)
        return result

    def pick_branch(self, branches: list[dict[str, Any]], depth: int) -> dict[str, Any]:
        non_null = [b for b in branches if not self.is_null_schema(b)]
        if not non_null or (depth >= MAX_DEPTH and len(non_null) < len(branches)):
            return {"type": "null"}
        return self.rng.choice(non_null)

    def is_null_schema(self, schema: dict[str, Any]) -> bool:
        return self.resolved(schema).get("type") == "null"

    def schema_type(self, schema: dict[str, Any], depth: int) -> str:
        declared = schema.get("type")
        if isinstance(declared, list):
            non_null = [t for t in declared if t != "null"]
            if not non_null or (depth >= MAX_DEPTH and "null" in declared):
                return "null"
            return non_null[0]
        if declared:
            return declared
        if "properties" in schema or "additionalProperties" in schema:
            return "object"
        if "items" in schema or "prefixItems" in schema:
            return "array"
        return "string"

    # --- objects and arrays ------------------------------------------------------------------

    def object_value(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        properties = schema.get("properties", {})
        required = set(schema.get("required", []))
        result = {
            name: self.value(sub, depth + 1)
            for name, sub in properties.items()
            if name in required or depth < MAX_DEPTH
        }
        extra_schema = schema.get("additionalProperties")
        missing = schema.get("minProperties", 0 if properties else 1) - len(result)
        if isinstance(extra_schema, dict) and missing > 0:
            for index in range(missing):
                result[f"{self.word()}_{index}"] = self.value(extra_schema, depth + 1)
        return result

    def array_value(self, schema: dict[str, Any], depth: int) -> list[Any]:
        prefix = schema.get("prefixItems", [])
        min_items = max(schema.get("minItems", 0), len(prefix))
        max_items = schema.get("maxItems", max(min_items, 3))
        count = self.item_count(min_items, max_items, depth)
        item_schema = schema.get("items", {})
        items = [self.value(sub, depth + 1) for sub in prefix[:count]]
        while len(items) < count:
            if schema.get("uniqueItems"):
                items.append(self.unique_item(item_schema, items, depth))
            else:
                items.append(self.value(item_schema, depth + 1))
        return items

    def item_count(self, min_items: int, max_items: int, depth: int) -> int:
        if depth >= MAX_DEPTH:
            return min_items
        at_least_one = max(min_items, min(1, max_items))
        return self.rng.randint(at_least_one, max(at_least_one, max_items))

    def unique_item(self, item_schema: dict[str, Any], taken: list[Any], depth: int) -> Any:
        candidate = self.value(item_schema, depth + 1)
        for _ in range(20):
            if candidate not in taken:
                return candidate
            candidate = self.value(item_schema, depth + 1)
        return candidate

    # --- scalars -----------------------------------------------------------------------------

    def string_value(self, schema: dict[str, Any]) -> str:
        format_name = schema.get("format")
        if format_name:
            formatted = self.formatted_string(format_name)
            if formatted is not None:
                return formatted
        if "pattern" in schema:
            return self.string_matching(schema["pattern"], schema)
        return self.sized_text(schema.get("minLength", 0), schema.get("maxLength"))

    def sized_text(self, min_length: int, max_length: int | None) -> str:
        text = self.text(2, 10)
        while len(text) < min_length:
            text = f"{text} {self.word()}"
        if max_length is not None and len(text) > max_length:
            text = text[:max_length]
            if len(text.rstrip()) >= min_length:
                text = text.rstrip()
        return text

    def formatted_string(self, format_name: str) -> str | None:
        day = self.rng.randint(1, 28)
        samples = {
            "date-time": f"2024-03-{day:02d}T12:{self.rng.randint(0, 59):02d}:00Z",
            "date": f"2024-03-{day:02d}",
            "time": f"12:{self.rng.randint(0, 59):02d}:00",
            "email": f"{self.slug()}@example.com",
            "uri": f"https://example.com/{self.slug()}",
            "url": f"https://example.com/{self.slug()}",
            "uuid": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
        }
        return samples.get(format_name)

    def string_matching(self, pattern: str, schema: dict[str, Any]) -> str:
        """Best effort: the first simple candidate the pattern accepts, else plain text."""
        word, number = self.word(), self.rng.randint(0, 10**8)
        candidates = [self.slug(), word, word.lower(), word.upper(), word.capitalize(), self.text(1, 3)]
        candidates += [str(number)[:width].zfill(width) for width in range(1, 9)]
        candidates += [f"{self.slug()}-{number % 100}", "a", "A1"]
        for candidate in candidates:
            if re.search(pattern, candidate):
                return candidate
        return self.sized_text(schema.get("minLength", 0), schema.get("maxLength"))

    def integer_value(self, schema: dict[str, Any]) -> int:
        low, high = self.bounds(schema, default_span=100)
        low, high = math.ceil(low), math.floor(high)
        multiple = schema.get("multipleOf")
        if multiple:
            first, last = math.ceil(low / multiple), math.floor(high / multiple)
            return int(self.rng.randint(first, max(first, last)) * multiple)
        return self.rng.randint(low, max(low, high))

    def number_value(self, schema: dict[str, Any]) -> float:
        low, high = self.bounds(schema, default_span=100.0)
        multiple = schema.get("multipleOf")
        if multiple:
            first, last = math.ceil(low / multiple), math.floor(high / multiple)
            return self.rng.randint(first, max(first, last)) * multiple
        value = round(self.rng.uniform(low, high), 2)
        return min(max(value, low), high)

    def bounds(self, schema: dict[str, Any], default_span: float) -> tuple[float, float]:
        # Exclusive bounds are nudged inwards by a small step that still works for integers.
        low = schema.get("minimum", -math.inf)
        high = schema.get("maximum", math.inf)
        if "exclusiveMinimum" in schema:
            low = max(low, schema["exclusiveMinimum"] + _inward_step(schema))
        if "exclusiveMaximum" in schema:
            high = min(high, schema["exclusiveMaximum"] - _inward_step(schema))
        if math.isinf(low) and math.isinf(high):
            low, high = 0, default_span
        elif math.isinf(low):
            low = high - default_span
        elif math.isinf(high):
            high = low + default_span
        return low, high

    # --- words -------------------------------------------------------------------------------

    def word(self) -> str:
        return self.rng.choice(self.words)

    def text(self, min_words: int, max_words: int) -> str:
        return " ".join(self.word() for _ in range(self.rng.randint(min_words, max_words)))

    def slug(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.word().lower()).strip("-") or "item"


def _inward_step(schema: dict[str, Any]) -> float:
    return 1 if schema.get("type") == "integer" else 1e-3
