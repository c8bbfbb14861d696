"""An offline approximation of a BPE token count; no tokenizer file is downloaded.

It is no model's exact count: use it to size chunks, not to fill a context to the last token.
The count is the number of pieces of:
- a run of up to 8 letters (a long word counts as several tokens, as in BPE vocabularies),
- a run of up to 3 digits (GPT-style tokenizers split numbers so),
- one CJK / kana / hangul character,
- one other visible character (punctuation, symbols).
Whitespace is free.
"""

from __future__ import annotations

import re

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_TOKEN_PIECE = re.compile(rf"[{_CJK}]|(?:(?![{_CJK}])[^\W\d_]){{1,8}}|\d{{1,3}}|[^\s]")


def estimate_tokens(text: str) -> int:
    return sum(1 for _ in _TOKEN_PIECE.finditer(text))
