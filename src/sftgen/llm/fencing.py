"""The one fencing rule for untrusted text in prompts.

Every value that came from a document, a web page, a search hit or an earlier LLM reply goes into a
template through the `fence` filter: `<LABEL>` ... `</LABEL>` around it, so the template can tell the
model that fenced text is data. Inside the value, anything that reads as a fence delimiter (of its own
label or of any label the templates use), opening or closing, in any case and spacing, with attributes
or a self-closing slash, is neutralised: its angle brackets become ‹ and ›. So a value cannot close its
fence early or open a new one.

Chat-format tokens in a value are defused the same way (`<|im_start|>`, `<|system|>`, `<|eot_id|>`,
`<s>`, `</s>`, `[INST]`, `<<SYS>>`...): servers such as llama.cpp's render the messages with the model's
chat template and read special tokens in the result, so a document holding `<|im_start|>system` would
otherwise open a real system turn inside its message.
"""

from __future__ import annotations

import re
from functools import lru_cache

FENCE_LABELS = frozenset({
    "DOCUMENT", "PASSAGE", "QUESTION", "ANSWER", "SUMMARY", "TITLE", "TOPIC", "USE_CASE", "AUDIENCE",
    "BACKGROUND", "OPENERS",
})
"""The labels the package's templates use; a value's delimiters of any of them are neutralised."""
FULLWIDTH_TO_ASCII = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0xFE64: ord("<"), 0xFE65: ord(">")}
"""Look-alike forms of < > / and letters, folded one character to one so positions stay the same."""


@lru_cache(maxsize=64)
def delimiter_pattern(label: str) -> re.Pattern[str]:
    """`<LABEL ...>`, `</LABEL>` and `<LABEL/>` of every fence label, in any case and spacing; the closing
    bracket is optional (a value ending in `</PASSAGE` would be closed by the fence's own `>` line)."""
    names = "|".join(re.escape(name) for name in sorted(FENCE_LABELS | {label.upper()}, key=len, reverse=True))
    return re.compile(
        rf"<\s*/?\s*(?:{names})(?![\w])(?P<tail>[^<>]*>)?",
        re.IGNORECASE,
    )


CHAT_TOKEN = re.compile(r"<\s*([|\uff5c])([^<>|\uff5c\s]{1,64})([|\uff5c])\s*>|</?s>|\[/?INST\]|<</?SYS>>")
"""`<|name|>` (and DeepSeek's fullwidth `<｜name｜>`), Llama's `<s>` `</s>` `[INST]` `[/INST]` `<<SYS>>`."""


def defuse_chat_token(found: re.Match[str]) -> str:
    token = found.group(0)
    if token.startswith("["):
        return "\u2039" + token[1:-1] + "\u203a"
    return "\u2039" + token[1:-1].replace("<", "\u2039").replace(">", "\u203a") + "\u203a"




def neutralise(text: str, label: str = "DOCUMENT") -> str:
    """The text with every fence delimiter in it made harmless (‹/PASSAGE› instead of </PASSAGE>), and
    every chat-format token (‹|im_start|› instead of <|im_start|>)."""
    # every delimiter and chat token starts with `<` (or a look-alike that folds to `<`), but `[INST]` and
    # `[/INST]`: most texts hold none, and a scan for them costs far less than the regexes and the fold. A
    # text with `[` and no `<` (an answer citing [1]) holds a token only if it holds `INST]`.
    if "<" not in text and "\uff1c" not in text and "\ufe64" not in text and ("[" not in text or "INST]" not in text):
        return text
    return neutralise_all(text, label)


def neutralise_all(text: str, label: str = "DOCUMENT") -> str:
    """`neutralise` without its shortcut for texts that hold no `<` or `[` (tests compare the two)."""
    text = CHAT_TOKEN.sub(defuse_chat_token, text)
    folded = text.translate(FULLWIDTH_TO_ASCII)
    pieces, last = [], 0
    for found in delimiter_pattern(label).finditer(folded):
        start, end = found.span()
        token = "\u2039" + text[start + 1:end]
        pieces += [text[last:start], token[:-1] + "\u203a" if found.group("tail") else token]
        last = end
    return "".join(pieces) + text[last:]


def fence(value: object, label: str = "DOCUMENT", inline: bool = False) -> str:
    """Wrap untrusted text so templates can tell the model it is data, not instructions. `inline` keeps a
    short value (a title, a topic) on one line: its line breaks become spaces."""
    text = "" if value is None else str(value)
    if inline:
        return f"<{label}>{neutralise(' '.join(text.split()), label)}</{label}>"
    return f"<{label}>\n{neutralise(text, label)}\n</{label}>"
