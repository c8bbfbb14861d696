"""What fetching one URL gives: a cleaned page, or a refusal with a stable reason code."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# Stable codes: they become drop reasons that `sftgen status` counts, so never rename one.
REFUSAL_REASONS = (
    "bad_url",              # malformed, not http(s) or local://, or no host
    "private_address",      # the host resolves to a loopback, private, link-local or reserved address
    "dns_error",            # the host does not resolve
    "unreachable",          # connection refused, reset, TLS failure
    "timeout",
    "too_many_redirects",
    "http_error",           # status 4xx/5xx
    "wrong_content_type",   # not html, pdf or plain text (or a type the recipe leaves out)
    "too_large",
    "too_many_pages",       # a PDF over sources.max_pdf_pages
    "parse_error",          # a broken PDF, undecodable bytes
    "empty",                # no main text left after cleaning
    "not_found",            # local:// path or JSONL row that is not there
    "outside_project",      # local:// path that leaves the project folder
    "fetch_error",          # an unforeseen failure while fetching one URL (the others go on)
)


@dataclass
class FetchedPage:
    url: str
    """The URL asked for."""
    ok: bool
    final_url: str = ""
    """Where the redirects ended."""
    text: str = ""
    title: str | None = None
    format: str | None = None
    """html, pdf or txt."""
    content_type: str = ""
    status_code: int | None = None
    reason: str | None = None
    detail: str = ""
    from_cache: bool = False
    redirects: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def refused(url: str, reason: str, detail: str, **fields: Any) -> FetchedPage:
    if reason not in REFUSAL_REASONS:
        raise ValueError(f"unknown refusal reason {reason!r}")
    return FetchedPage(url=url, ok=False, reason=reason, detail=detail, **fields)
