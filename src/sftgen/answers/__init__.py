"""The answer half's library code: citations, store look-ups across steps, the rubric schema."""
