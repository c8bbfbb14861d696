"""Read source files into documents (pure functions, no store)."""

from sftgen.ingest.documents import DROP_REASONS, RawDocument, ReadOutcome, UnreadableFile
from sftgen.ingest.readers import FORMAT_BY_EXTENSION, SourceEntry, iter_source_entries, iter_source_files, read_documents

__all__ = [
    "DROP_REASONS",
    "FORMAT_BY_EXTENSION",
    "RawDocument",
    "ReadOutcome",
    "SourceEntry",
    "UnreadableFile",
    "iter_source_entries",
    "iter_source_files",
    "read_documents",
]
