"""Reading real files of every supported format, and every way a file can be unreadable."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pypdf
import pytest

from sftgen.ingest import DROP_REASONS, ReadOutcome, UnreadableFile, iter_source_files, read_documents

MAX_BYTES = 100_000


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def read(folder: Path, name: str, content: str | bytes, max_bytes: int = MAX_BYTES) -> ReadOutcome:
    return read_documents(write(folder, name, content), root=folder, max_bytes=max_bytes)


def only_document(outcome: ReadOutcome):
    assert outcome.problems == []
    assert len(outcome.documents) == 1
    return outcome.documents[0]


def only_problem(outcome: ReadOutcome) -> UnreadableFile:
    assert outcome.documents == []
    assert len(outcome.problems) == 1
    return outcome.problems[0]


def make_pdf(pages: list[str], title: str | None = None) -> bytes:
    """A minimal valid PDF with one Helvetica text line per input line, built by hand."""

    def escape(text: str) -> str:
        return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    page_ids = [4 + 2 * number for number in range(len(pages))]
    info_id = 4 + 2 * len(pages)
    objects = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: f"<< /Type /Pages /Kids [{' '.join(f'{i} 0 R' for i in page_ids)}] /Count {len(pages)} >>".encode(),
        3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        info_id: f"<< /Title ({escape(title or '')}) >>".encode(),
    }
    for page_id, text in zip(page_ids, pages):
        lines = [f"({escape(line)}) Tj T*" for line in text.split("\n")] if text else []
        stream = "\n".join(["BT /F1 12 Tf 14 TL 72 720 Td", *lines, "ET"]).encode("latin-1")
        objects[page_id] = (
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {page_id + 1} 0 R >>"
        ).encode()
        objects[page_id + 1] = b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream)
    pdf = bytearray(b"%PDF-1.4\n")
    offsets = {}
    for object_id in sorted(objects):
        offsets[object_id] = len(pdf)
        pdf += b"%d 0 obj\n%s\nendobj\n" % (object_id, objects[object_id])
    xref_offset = len(pdf)
    size = max(objects) + 1
    pdf += b"xref\n0 %d\n0000000000 65535 f \n" % size
    pdf += b"".join(b"%010d 00000 n \n" % offsets[object_id] for object_id in range(1, size))
    pdf += b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, info_id, xref_offset)
    return bytes(pdf)


def encrypt_pdf(pdf: bytes, user_password: str) -> bytes:
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


# --- formats -------------------------------------------------------------------------


def test_txt_is_read_with_whitespace_normalised_and_paragraphs_kept(tmp_path):
    document = only_document(read(tmp_path, "notes.txt", "First line.   \r\nSame para.\r\n\r\n\r\n\r\n\tIndented para.\n\n\n"))
    assert document.text == "First line.\nSame para.\n\n\tIndented para."
    assert (document.source, document.format, document.title) == ("notes.txt", "txt", None)
    assert document.meta["encoding"] == "utf-8"


def test_markdown_title_is_its_first_level_one_heading(tmp_path):
    text = "---\ntitle: front matter\n---\n\n## Intro\n\nSome text.\n\n# Quarks\n\nMore.\n"
    document = only_document(read(tmp_path, "docs/quarks.markdown", text))
    assert (document.source, document.format, document.title) == ("docs/quarks.markdown", "md", "Quarks")
    assert document.text.startswith("---\ntitle: front matter")


def test_html_main_text_is_kept_and_navigation_boilerplate_removed(tmp_path):
    html = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>Quark guide</title>
    <link rel="canonical" href="https://example.org/quarks"></head><body>
    <nav><ul><li><a href="/">Home</a></li><li><a href="/shop">Shop our merchandise</a></li>
    <li><a href="/contact">Contact the webmaster</a></li></ul></nav>
    <article><h1>Quarks</h1>
    <p>Quarks are elementary particles and a fundamental constituent of matter. They combine
    to form composite particles called hadrons, the most stable of which are protons and neutrons.</p>
    <p>There are six types of quarks, known as flavours: up, down, charm, strange, top, and bottom.</p>
    </article><footer>Copyright 2024 Example Corp. All rights reserved.</footer></body></html>"""
    document = only_document(read(tmp_path, "page.htm", html))
    assert document.format == "html"
    assert "fundamental constituent of matter" in document.text
    assert "six types of quarks" in document.text
    assert "Shop our merchandise" not in document.text
    assert "Contact the webmaster" not in document.text
    assert "All rights reserved" not in document.text
    assert document.title
    assert document.meta["url"] == "https://example.org/quarks"


def test_html_without_any_text_is_empty(tmp_path):
    problem = only_problem(read(tmp_path, "blank.html", "<html><head><title>x</title></head><body><div></div></body></html>"))
    assert problem.reason == "empty"
    assert "blank.html" in problem.detail


def test_pdf_text_title_and_page_offsets(tmp_path):
    pdf = make_pdf(["Quarks are elementary.\nThey form hadrons.", "", "Leptons (like electrons)."], title="Particle notes")
    document = only_document(read(tmp_path, "notes.pdf", pdf))
    assert document.format == "pdf"
    assert document.title == "Particle notes"
    assert "Quarks are elementary." in document.text
    assert "Leptons (like electrons)." in document.text
    assert document.meta["page_count"] == 3
    third_page_start = document.meta["page_offsets"][2]
    assert document.text[third_page_start:].startswith("Leptons")


def test_pdf_encrypted_with_a_password_is_a_parse_error(tmp_path):
    pdf = encrypt_pdf(make_pdf(["Secret text."]), user_password="secret")
    problem = only_problem(read(tmp_path, "locked.pdf", pdf))
    assert problem.reason == "parse_error"
    assert "locked.pdf" in problem.detail and "password" in problem.detail


def test_pdf_restricted_only_by_an_owner_password_is_read(tmp_path):
    pdf = encrypt_pdf(make_pdf(["Open text."]), user_password="")
    assert only_document(read(tmp_path, "restricted.pdf", pdf)).text == "Open text."


@pytest.mark.parametrize("content", [b"%PDF-1.4\nnot really a pdf", b"plain words, no pdf here"])
def test_corrupt_pdf_is_a_parse_error(tmp_path, content):
    problem = only_problem(read(tmp_path, "broken.pdf", content))
    assert problem.reason == "parse_error"
    assert "broken.pdf" in problem.detail


def test_pdf_without_text_is_empty(tmp_path):
    problem = only_problem(read(tmp_path, "scan.pdf", make_pdf([""])))
    assert problem.reason == "empty"


def test_jsonl_keeps_good_rows_and_reports_each_bad_line(tmp_path):
    rows = [
        json.dumps({"text": "First row.", "id": 1, "url": "https://example.org/1"}),
        "{not json",
        json.dumps({"body": "no text field"}),
        "",
        json.dumps({"text": "Fourth row.", "title": "Row four"}),
        json.dumps({"text": 42}),
        json.dumps(["a", "list"]),
        json.dumps({"text": "   "}),
    ]
    outcome = read(tmp_path, "rows.jsonl", "\n".join(rows) + "\n")
    assert [(d.source, d.text, d.title) for d in outcome.documents] == [
        ("rows.jsonl#L1", "First row.", None),
        ("rows.jsonl#L5", "Fourth row.", "Row four"),
    ]
    assert outcome.documents[0].meta == {"id": 1, "url": "https://example.org/1", "encoding": "utf-8"}
    assert outcome.documents[1].meta["title"] == "Row four"
    assert [(p.reason, p.source) for p in outcome.problems] == [
        ("parse_error", "rows.jsonl#L2"),
        ("missing_text_field", "rows.jsonl#L3"),
        ("missing_text_field", "rows.jsonl#L6"),
        ("parse_error", "rows.jsonl#L7"),
        ("empty", "rows.jsonl#L8"),
    ]
    assert "rows.jsonl#L3" in outcome.problems[1].detail and "'text'" in outcome.problems[1].detail


# --- encodings and unreadable files ----------------------------------------------------


def test_latin1_file_is_decoded(tmp_path):
    text = "Café naïve, résumé à la carte; crème brûlée. Les élèves ont été étonnés.\n"
    document = only_document(read(tmp_path, "french.txt", text.encode("latin-1")))
    assert document.text == text.strip()
    assert document.meta["encoding"] == "cp1252"


def test_utf16_with_bom_is_decoded(tmp_path):
    text = "Grüße aus Köln, 日本語も。\nSecond line."
    document = only_document(read(tmp_path, "wide.txt", text.encode("utf-16")))
    assert document.text == text
    assert document.meta["encoding"] == "utf-16"


def test_utf8_bom_is_not_part_of_the_text(tmp_path):
    document = only_document(read(tmp_path, "bom.md", "\ufeff# Title\n\nBody.".encode("utf-8")))
    assert document.text == "# Title\n\nBody."
    assert document.meta["encoding"] == "utf-8-sig"


def test_binary_content_with_a_text_extension(tmp_path):
    problem = only_problem(read(tmp_path, "image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00" * 20))
    assert problem.reason == "binary"
    assert "image.txt" in problem.detail


def test_control_characters_without_nul_are_binary(tmp_path):
    problem = only_problem(read(tmp_path, "dump.md", bytes(range(1, 9)) * 40 + b"some text"))
    assert problem.reason == "binary"


def test_broken_utf16_is_a_decode_error(tmp_path):
    problem = only_problem(read(tmp_path, "odd.txt", "Grüße".encode("utf-16") + b"\x00"))
    assert problem.reason == "decode_error"
    assert "odd.txt" in problem.detail and "utf-16" in problem.detail


def test_missing_file_is_an_io_error(tmp_path):
    problem = only_problem(read_documents(tmp_path / "gone.txt", root=tmp_path, max_bytes=MAX_BYTES))
    assert (problem.reason, problem.source) == ("io_error", "gone.txt")


@pytest.mark.parametrize("content", [b"", b"  \n\t\r\n  \n"])
def test_empty_or_whitespace_only_file(tmp_path, content):
    problem = only_problem(read(tmp_path, "blank.txt", content))
    assert problem.reason == "empty"


def test_whitespace_only_jsonl_is_empty(tmp_path):
    assert only_problem(read(tmp_path, "blank.jsonl", "\n\n  \n")).reason == "empty"


def test_file_over_the_size_limit_is_too_large(tmp_path):
    problem = only_problem(read(tmp_path, "big.txt", "x" * 101, max_bytes=100))
    assert problem.reason == "too_large"
    assert "big.txt" in problem.detail and "100" in problem.detail


def test_file_at_the_size_limit_is_read(tmp_path):
    assert only_document(read(tmp_path, "exact.txt", "x" * 100, max_bytes=100)).text == "x" * 100


def test_unsupported_extension(tmp_path):
    problem = only_problem(read(tmp_path, "report.docx", b"PK\x03\x04"))
    assert problem.reason == "unsupported_type"
    assert "report.docx" in problem.detail and ".docx" in problem.detail


def test_every_reason_is_a_known_drop_reason(tmp_path):
    with pytest.raises(ValueError):
        UnreadableFile("no_such_reason", "detail")
    assert set(DROP_REASONS) >= {"unsupported_type", "binary", "empty", "too_large", "decode_error", "parse_error"}


def test_extension_is_case_insensitive(tmp_path):
    assert only_document(read(tmp_path, "SHOUT.TXT", "Loud.")).format == "txt"


def test_invalid_size_limit_is_refused(tmp_path):
    with pytest.raises(ValueError, match="max_bytes"):
        read_documents(write(tmp_path, "a.txt", "a"), root=tmp_path, max_bytes=0)


# --- finding files ---------------------------------------------------------------------


def test_iter_source_files_is_recursive_sorted_and_skips_hidden(tmp_path):
    for name in ["b.txt", "a/z.md", "a/.secret.txt", ".git/config", "c/deep/x.pdf", "a.jsonl", "notes.docx"]:
        write(tmp_path, name, "x")
    found = [path.relative_to(tmp_path).as_posix() for path in iter_source_files(tmp_path)]
    assert found == ["a/z.md", "a.jsonl", "b.txt", "c/deep/x.pdf", "notes.docx"]
    assert found == [path.relative_to(tmp_path).as_posix() for path in iter_source_files(tmp_path)]


def test_iter_source_files_survives_a_symlink_loop(tmp_path):
    write(tmp_path, "docs/a.txt", "x")
    (tmp_path / "docs" / "loop").symlink_to(tmp_path / "docs", target_is_directory=True)
    found = [path.relative_to(tmp_path).as_posix() for path in iter_source_files(tmp_path)]
    assert found == ["docs/a.txt"]


def test_iter_source_files_refuses_a_file(tmp_path):
    with pytest.raises(NotADirectoryError):
        list(iter_source_files(write(tmp_path, "a.txt", "x")))
