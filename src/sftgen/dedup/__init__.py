"""Prompt dedup as library code: exact, near (MinHash LSH) and semantic (embeddings and
an ANN index). `find_duplicates` decides; the `dedup` step only turns its decisions into results.

The names load on first use: `sftgen.dedup.normalise` (word checks of the prompt and answer steps) must
not pull in numpy and datasketch with it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sftgen.dedup.core import Duplicate, DedupReport, find_duplicates, find_duplicates_verified

__all__ = ["DedupReport", "Duplicate", "find_duplicates", "find_duplicates_verified"]


def __getattr__(name: str):
    if name in __all__:
        from sftgen.dedup import core

        return getattr(core, name)
    raise AttributeError(f"module 'sftgen.dedup' has no attribute {name!r}")
