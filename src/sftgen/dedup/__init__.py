"""Prompt dedup (recipe step 10) as library code: exact, near (MinHash LSH) and semantic (embeddings and
an ANN index). `find_duplicates` decides; the `dedup` step only turns its decisions into results."""

from sftgen.dedup.core import Duplicate, DedupReport, find_duplicates, find_duplicates_verified

__all__ = ["DedupReport", "Duplicate", "find_duplicates", "find_duplicates_verified"]
