"""Split document text into chunks (pure functions, no store)."""

from sftgen.chunking.splitter import SIZE_UNITS, Chunk, SizeUnit, split_into_chunks
from sftgen.chunking.token_estimate import estimate_tokens

__all__ = ["SIZE_UNITS", "Chunk", "SizeUnit", "estimate_tokens", "split_into_chunks"]
