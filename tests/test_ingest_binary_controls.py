"""Binary detection counts the control characters of a sample (tab, newline, vertical tab, form feed,
carriage return and escape are text): every byte below 0x20, every character below 0x20 or in 0x7F-0x9F."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sftgen.ingest import decoding

TEXT_CONTROLS = "\t\n\v\f\r\x1b"


def controls_in_bytes(sample: bytes) -> int:
    return sum(1 for byte in sample if byte < 0x20 and chr(byte) not in TEXT_CONTROLS)


def controls_in_text(sample: str) -> int:
    return sum(1 for char in sample if (char < " " or "\x7f" <= char <= "\x9f") and char not in TEXT_CONTROLS)


def looks_binary(controls: int, length: int) -> bool:
    return length > 0 and controls / length > 0.05


@settings(max_examples=500)
@given(st.binary(max_size=400))
def test_bytes_with_more_than_5_percent_control_bytes_are_binary(sample):
    expected = b"\x00" in sample or looks_binary(controls_in_bytes(sample), len(sample))
    assert decoding._looks_binary_bytes(sample) == expected


@settings(max_examples=500)
@given(st.text(alphabet=st.characters(max_codepoint=0x2FF), max_size=400))
def test_text_with_more_than_5_percent_control_characters_is_binary(sample):
    expected = "\x00" in sample or looks_binary(controls_in_text(sample), len(sample))
    assert decoding._looks_binary_text(sample) == expected


def test_every_control_character_is_counted_and_nothing_else():
    every_char = "".join(map(chr, range(1, 0x800)))
    assert len(decoding._BINARY_CONTROL_CHARS.findall(every_char)) == controls_in_text(every_char)
    every_byte = bytes(range(1, 256))
    assert len(every_byte) - len(every_byte.translate(None, decoding._BINARY_CONTROL_BYTES)) == controls_in_bytes(every_byte)
