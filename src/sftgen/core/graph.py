"""The pipeline as one object: its steps in run order and who consumes whom, checked when it is built.

`Pipeline(steps)` refuses at once what could only fail later: two steps of one name, an upstream name no
step has, a step whose upstream passes on no record of the kind it consumes, two review gates for one kind.
The rest of sftgen asks it instead of walking lists of names: `final(kind)` (the step whose emits are the
kind's kept records), `consumers(name)`, `step_of(StepClass)`, `gate_for(kind)`, `until(name)`, and
`upstream_map()` for the store, which withdraws along it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol, TypeVar


class PipelineError(Exception):
    """A pipeline that cannot run as built; the message names the step and what is wrong."""


class UnknownStep(PipelineError):
    pass


class Node(Protocol):
    """What the graph reads of a step (core/step.py's `Step` has it all)."""

    name: str
    consumes: str | None
    produces: str | None
    passes_input_on: bool
    replaces_input: bool
    gates: str | None
    upstream: list[str]


N = TypeVar("N", bound=Node)
T = TypeVar("T")


class Pipeline:
    def __init__(self, steps: Sequence[Node]):
        self.steps: tuple[Node, ...] = tuple(steps)
        self.names: list[str] = [step.name for step in self.steps]
        self._by_name = {step.name: step for step in self.steps}
        self._step_of: dict[type, Node | None] = {}
        check(self)

    def __iter__(self) -> Iterator[Node]:
        return iter(self.steps)

    def __len__(self) -> int:
        return len(self.steps)

    def __getitem__(self, index):
        return self.steps[index]

    def step(self, name: str) -> Node:
        if name not in self._by_name:
            raise UnknownStep(f"no step named {name!r}; the steps are: {', '.join(self.names)}")
        return self._by_name[name]

    def step_of(self, kind: type[T]) -> T | None:
        """The first step of this class (or a subclass), or None when the pipeline has none. Looked up once
        per class (the steps are a tuple): the answer steps ask for each prompt."""
        if kind not in self._step_of:
            self._step_of[kind] = next((step for step in self.steps if isinstance(step, kind)), None)
        return self._step_of[kind]  # type: ignore[return-value]

    def has(self, name: str) -> bool:
        return name in self._by_name

    def emits_kind(self, step: Node, kind: str) -> bool:
        """Whether the step's emits are records of this kind: it makes them, or passes on (or replaces)
        the ones it consumes."""
        return step.produces == kind or (step.consumes == kind and (step.passes_input_on or step.replaces_input))

    def passing_on(self, kind: str) -> list[Node]:
        """The steps whose emits are records of this kind, in run order: its makers, then its filters."""
        return [step for step in self.steps if self.emits_kind(step, kind)]

    def final(self, kind: str) -> Node | None:
        """The last step that passes on records of this kind: its emits are the kind's kept records."""
        passing = self.passing_on(kind)
        return passing[-1] if passing else None

    def makers(self, kind: str) -> list[Node]:
        """The steps that make new records of this kind (not filters, not steps that replace their input)."""
        return [step for step in self.steps
                if step.produces == kind and not step.passes_input_on and not step.replaces_input]

    def replacers(self, kind: str) -> list[Node]:
        """The steps that pass each input of this kind on as one record, itself or a new version of it."""
        return [step for step in self.steps if step.consumes == kind and step.replaces_input]

    def consumed_from(self, kind: str) -> list[str]:
        """The steps whose records of this kind another step consumes (for documents: what chunking reads,
        not the pages the answer half fetches for itself)."""
        names: list[str] = []
        for step in self.steps:
            if step.consumes == kind:
                names += [name for name in step.upstream if name not in names]
        return names

    def consumers(self, name: str) -> list[Node]:
        return [step for step in self.steps if name in step.upstream]

    def gate_for(self, kind: str) -> Node | None:
        """The review gate that reviewers' decisions on this kind flow back through."""
        return next((step for step in self.steps if step.gates == kind), None)

    def until(self, name: str | None) -> list[Node]:
        """The steps up to and including `name` (all of them for None): what `run --until` runs."""
        if name is None:
            return list(self.steps)
        if name not in self._by_name:
            raise UnknownStep(f"--until {name}: no such step; the steps are: {', '.join(self.names)}")
        return list(self.steps[: self.names.index(name) + 1])

    def upstream_map(self) -> dict[str, list[str]]:
        """step -> the steps it consumes from: the plain mapping the store withdraws along."""
        return {step.name: list(step.upstream) for step in self.steps}


def check(pipeline: Pipeline) -> None:
    seen: set[str] = set()
    for step in pipeline.steps:
        if not step.name:
            raise PipelineError(f"{type(step).__name__} has no name")
        if step.name in seen:
            raise PipelineError(f"two steps are named {step.name!r}")
        seen.add(step.name)
    for step in pipeline.steps:
        for name in step.upstream:
            if not pipeline.has(name):
                raise PipelineError(f"step {step.name!r} consumes from {name!r}, which is not a step of this "
                                    f"pipeline (the steps are: {', '.join(pipeline.names)})")
            if step.consumes is not None and not pipeline.emits_kind(pipeline.step(name), step.consumes):
                raise PipelineError(f"step {step.name!r} consumes {step.consumes} records from {name!r}, "
                                    f"which passes on none")
        if step.consumes is not None and not step.upstream:
            raise PipelineError(f"step {step.name!r} consumes {step.consumes} records but names no upstream step")
    gated: dict[str, str] = {}
    for step in pipeline.steps:
        if step.gates is None:
            continue
        if step.gates in gated:
            raise PipelineError(f"two review gates for {step.gates} records: {gated[step.gates]!r} and {step.name!r}")
        if step.consumes != step.gates:
            raise PipelineError(f"review gate {step.name!r} gates {step.gates} records but consumes {step.consumes}")
        gated[step.gates] = step.name
