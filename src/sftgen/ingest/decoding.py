"""Bytes to clean text: encoding detection, binary detection, modest whitespace normalising."""

from __future__ import annotations

import codecs
import re

import charset_normalizer

from sftgen.ingest.documents import UnreadableFile

# Longest BOMs first: the UTF-32-LE BOM begins with the UTF-16-LE one.
_BOM_ENCODINGS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_BINARY_SAMPLE_BYTES = 8192
_MAX_CONTROL_RATIO = 0.05
# Control characters that ordinary text contains: tab, newline, vertical tab, form feed,
# carriage return, escape (ANSI colours in logs).
_TEXT_CONTROLS = frozenset("\t\n\v\f\r\x1b")
_BINARY_CONTROL_BYTES = bytes(byte for byte in range(0x20) if chr(byte) not in _TEXT_CONTROLS)
_BINARY_CONTROL_CHARS = re.compile(
    "[" + "".join(re.escape(chr(code)) for code in [*range(0x20), *range(0x7F, 0xA0)] if chr(code) not in _TEXT_CONTROLS) + "]"
)
"""The control bytes (below 0x20) and characters (also 0x7F-0x9F) of binary content, _TEXT_CONTROLS left
out: counted by C loops (bytes.translate, a regex), not one Python step per character of the sample."""

_UTF16_HIGH_NUL_SHARE = 0.4
_UTF16_LOW_NUL_SHARE = 0.02

_PREFERRED_LEGACY_ENCODING = "cp1252"
_CHAOS_TIE = 1e-6

_TRAILING_SPACES = re.compile(r"[ \t]+$", re.MULTILINE)
_THREE_OR_MORE_NEWLINES = re.compile(r"\n{3,}")


def decode_text(raw: bytes, source: str) -> tuple[str, str]:
    """Return (text, encoding name) for the bytes of a text file.

    Raises UnreadableFile `binary` or `decode_error`.
    """
    bom_encoding = _encoding_from_bom(raw)
    if bom_encoding is None and (utf16 := _utf16_without_bom(raw)) is not None:
        return utf16
    if bom_encoding is None and _looks_binary_bytes(raw[:_BINARY_SAMPLE_BYTES]):
        raise UnreadableFile("binary", f"{source}: binary content (NUL or control bytes)", source)
    text, encoding = _decode(raw, bom_encoding, source)
    if _looks_binary_text(text[:_BINARY_SAMPLE_BYTES]):
        raise UnreadableFile("binary", f"{source}: binary content after decoding as {encoding}", source)
    return text, encoding


def normalise_whitespace(text: str) -> str:
    """Unify newlines, strip trailing spaces, keep at most one blank line between paragraphs."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _TRAILING_SPACES.sub("", text)
    text = _THREE_OR_MORE_NEWLINES.sub("\n\n", text)
    return text.strip("\n")


def _encoding_from_bom(raw: bytes) -> str | None:
    for bom, encoding in _BOM_ENCODINGS:
        if raw.startswith(bom):
            return encoding
    return None


def _utf16_without_bom(raw: bytes) -> tuple[str, str] | None:
    """(text, encoding) for UTF-16 without a byte-order mark: every other byte mostly NUL (the high bytes
    of Latin characters) and the bytes between not, and the whole decodes to text that is not binary."""
    sample = raw[:_BINARY_SAMPLE_BYTES]
    even, odd = sample[0::2], sample[1::2]
    if len(odd) < 8 or len(raw) % 2:
        return None
    even_nuls, odd_nuls = even.count(0) / len(even), odd.count(0) / len(odd)
    if odd_nuls >= _UTF16_HIGH_NUL_SHARE and even_nuls <= _UTF16_LOW_NUL_SHARE:
        encoding = "utf-16-le"
    elif even_nuls >= _UTF16_HIGH_NUL_SHARE and odd_nuls <= _UTF16_LOW_NUL_SHARE:
        encoding = "utf-16-be"
    else:
        return None
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError:
        return None
    return None if _looks_binary_text(text[:_BINARY_SAMPLE_BYTES]) else (text, encoding)


def _decode(raw: bytes, bom_encoding: str | None, source: str) -> tuple[str, str]:
    if bom_encoding is not None:
        try:
            return raw.decode(bom_encoding), bom_encoding
        except UnicodeDecodeError as error:
            raise UnreadableFile(
                "decode_error", f"{source}: has a {bom_encoding} byte-order mark but {error}", source
            ) from error
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    encoding = _guess_legacy_encoding(raw)
    if encoding is None:
        raise UnreadableFile("decode_error", f"{source}: not UTF-8 and no other encoding fits", source)
    try:
        return raw.decode(encoding), encoding
    except (UnicodeDecodeError, LookupError) as error:
        raise UnreadableFile("decode_error", f"{source}: guessed {encoding} but {error}", source) from error


def _guess_legacy_encoding(raw: bytes) -> str | None:
    """charset-normalizer's guess, preferring cp1252 among equally plausible code pages.

    On short Western European text, cp1252, cp1250, cp1257 and others often tie, and the
    first of them wins: French "naïve" would come out as "naďve" in cp1250. cp1252 is by
    far the most common legacy encoding (browsers read latin-1 as cp1252), so among the
    best-scoring matches it goes first.
    """
    matches = list(charset_normalizer.from_bytes(raw))
    if not matches:
        return None
    lowest_chaos = min(match.chaos for match in matches)
    best_matches = [match for match in matches if match.chaos <= lowest_chaos + _CHAOS_TIE]
    for match in best_matches:
        if _PREFERRED_LEGACY_ENCODING in match.could_be_from_charset:
            return _PREFERRED_LEGACY_ENCODING
    return best_matches[0].encoding


def _looks_binary_bytes(sample: bytes) -> bool:
    if not sample:
        return False
    if b"\x00" in sample:
        return True
    controls = len(sample) - len(sample.translate(None, _BINARY_CONTROL_BYTES))
    return controls / len(sample) > _MAX_CONTROL_RATIO


def _looks_binary_text(sample: str) -> bool:
    if not sample:
        return False
    if "\x00" in sample:
        return True
    controls = len(_BINARY_CONTROL_CHARS.findall(sample))
    return controls / len(sample) > _MAX_CONTROL_RATIO

