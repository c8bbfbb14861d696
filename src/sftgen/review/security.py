"""Who may talk to the review server, and protection of its state-changing requests.

- Access token: when one is set (recipe `review.token`, `--token` or SFTGEN_REVIEW_TOKEN), every request
  must carry it: `?token=...` once (it is then kept in an HttpOnly cookie), an `Authorization: Bearer`
  header or an `X-Review-Token` header. Binding to anything but a loopback address requires a token.
- CSRF: every form carries a token derived (HMAC) from a per-browser session cookie and the server's secret;
  POSTs must also come from the server's own origin (Origin, else Referer). Cookies are SameSite=Strict.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from urllib.parse import urlsplit

TOKEN_COOKIE = "sftgen_review_token"
SESSION_COOKIE = "sftgen_review_session"
REVIEWER_COOKIE = "sftgen_reviewer"
TOKEN_ENV = "SFTGEN_REVIEW_TOKEN"


class UnsafeBinding(Exception):
    pass


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_binding(host: str, token: str | None) -> None:
    if not is_loopback(host) and not token:
        raise UnsafeBinding(
            f"binding the review server to {host} needs an access token: set review.token in the recipe, "
            f"pass --token, or set {TOKEN_ENV}"
        )


def token_matches(given: str | None, expected: str) -> bool:
    return bool(given) and hmac.compare_digest(given.encode(), expected.encode())


def new_session_id() -> str:
    return secrets.token_urlsafe(24)


def csrf_token(secret: bytes, session_id: str) -> str:
    return hmac.new(secret, session_id.encode(), hashlib.sha256).hexdigest()


def csrf_valid(secret: bytes, session_id: str | None, given: str | None) -> bool:
    return bool(session_id and given) and hmac.compare_digest(csrf_token(secret, session_id), given)


def same_origin(origin: str | None, referer: str | None, host: str | None) -> bool:
    """The request was sent by a page of this server: its Origin (or, without one, its Referer) names the
    host the request was sent to."""
    source = origin if origin and origin != "null" else referer
    if not source or not host:
        return False
    return urlsplit(source).netloc.lower() == host.lower()
