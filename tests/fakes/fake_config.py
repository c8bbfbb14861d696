"""Configuration of the fake OpenAI-compatible server: latency, fault rates, scripted rules."""

from __future__ import annotations

import argparse
import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

LATENCY_KINDS = ("fixed", "lognormal", "uniform")
TIMEOUT_MODES = ("drop", "late")
FAULT_RATE_FIELDS = ("rate_429", "rate_500", "rate_timeout", "rate_malformed", "rate_length")


@dataclass
class ReplyRule:
    """A scripted reply: applies when `contains` occurs in the text of the request's messages.

    `reply` replaces the generated content (None keeps the generated one, truncated when
    finish_reason is "length"); `status` other than 200 answers with an OpenAI-style error instead;
    `times` limits the rule to its first n matches (None = unlimited). "" as `contains` matches all.
    """

    contains: str
    reply: str | None = None
    status: int = 200
    finish_reason: str = "stop"
    times: int | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReplyRule:
        _refuse_unknown_keys(cls, data, "rule")
        return cls(**data)


@dataclass
class FakeServerConfig:
    model: str = "fake-model"
    seed: int = 0
    # Latency: "fixed" waits latency_ms; "lognormal" has median latency_ms and spread latency_sigma;
    # "uniform" draws from [latency_min_ms, latency_max_ms]. latency_per_token_ms is added per
    # completion token, like a decoding model.
    latency_kind: str = "fixed"
    latency_ms: float = 0.0
    latency_sigma: float = 0.5
    latency_min_ms: float = 0.0
    latency_max_ms: float = 0.0
    latency_per_token_ms: float = 0.0
    # Fault rates are probabilities per attempt; they are exclusive, so their sum must be <= 1.
    rate_429: float = 0.0
    retry_after_s: float = 0.05
    rate_500: float = 0.0
    rate_timeout: float = 0.0
    timeout_hold_s: float = 5.0
    timeout_mode: str = "drop"  # "drop": close the connection after the hold; "late": answer after it
    rate_malformed: float = 0.0
    rate_length: float = 0.0
    rules: list[ReplyRule] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rules = [r if isinstance(r, ReplyRule) else ReplyRule.from_dict(r) for r in self.rules]
        self.validate()

    def validate(self) -> None:
        if self.latency_kind not in LATENCY_KINDS:
            raise ValueError(f"latency_kind must be one of {LATENCY_KINDS}, got {self.latency_kind!r}")
        if self.timeout_mode not in TIMEOUT_MODES:
            raise ValueError(f"timeout_mode must be one of {TIMEOUT_MODES}, got {self.timeout_mode!r}")
        rates = [getattr(self, name) for name in FAULT_RATE_FIELDS]
        if any(not 0.0 <= rate <= 1.0 for rate in rates):
            raise ValueError(f"fault rates must lie in [0, 1]: {dict(zip(FAULT_RATE_FIELDS, rates))}")
        if sum(rates) > 1.0 + 1e-9:
            raise ValueError(f"fault rates are exclusive and must sum to <= 1, got {sum(rates)}")
        if self.latency_kind == "uniform" and self.latency_max_ms < self.latency_min_ms:
            raise ValueError("latency_max_ms must be >= latency_min_ms")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FakeServerConfig:
        _refuse_unknown_keys(cls, data, "config")
        return cls(**data)

    def updated(self, changes: dict[str, Any]) -> FakeServerConfig:
        """A copy with `changes` applied (validated; unknown keys refused)."""
        merged = {**self.to_dict(), **changes}
        return FakeServerConfig.from_dict(merged)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _refuse_unknown_keys(cls: type, data: dict[str, Any], what: str) -> None:
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"unknown {what} keys: {unknown}; known: {sorted(known)}")


# --- command line -------------------------------------------------------------------------------

_SCALAR_FIELDS = [f for f in dataclasses.fields(FakeServerConfig) if f.name != "rules"]


def build_arg_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Fake OpenAI-compatible server for tests and benchmarks.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port, printed as 'PORT n'")
    parser.add_argument("--backlog", type=int, default=2048)
    parser.add_argument("--config-json", default=None, help="a full or partial config as JSON (incl. rules)")
    for config_field in _SCALAR_FIELDS:
        flag = "--" + config_field.name.replace("_", "-")
        parser.add_argument(flag, dest=config_field.name, type=_type_of(config_field), default=None)
    return parser


def config_from_args(args: argparse.Namespace) -> FakeServerConfig:
    """--config-json first, then any explicit per-field flag on top of it."""
    values: dict[str, Any] = json.loads(args.config_json) if args.config_json else {}
    for config_field in _SCALAR_FIELDS:
        flag_value = getattr(args, config_field.name)
        if flag_value is not None:
            values[config_field.name] = flag_value
    return FakeServerConfig.from_dict(values)


def _type_of(config_field: dataclasses.Field) -> type:
    # With `from __future__ import annotations` the annotation is a string such as "float".
    return {"int": int, "float": float, "str": str}[str(config_field.type)]
