"""Who may talk to the review server, and protection of its state-changing requests.

- Host: a request must name, in its `Host` header, a host this server serves: a loopback name
  (localhost, 127.0.0.1, [::1]) or the host it is bound to, or one given with `--allowed-host`, with the
  port it listens on. Anything else (a DNS-rebinding page naming its own domain) is refused with 421.

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


LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
ALL_INTERFACES = ("0.0.0.0", "::", "")


def served_host_names(bound_host: str | None = None, allowed: tuple[str, ...] | list[str] = ()) -> frozenset[str]:
    """The host names a request may name: the loopback names, the bound host (unless it is all
    interfaces, which names no host), and the names given on the command line."""
    names = {*LOOPBACK_NAMES, *(normalised_host(name) for name in allowed)}
    if bound_host is not None and normalised_host(bound_host) not in ALL_INTERFACES:
        names.add(normalised_host(bound_host))
    return frozenset(names)


def normalised_host(name: str) -> str:
    return name.strip().strip("[]").rstrip(".").lower()


def split_host_header(value: str) -> tuple[str, int | None] | None:
    """`name[:port]` or `[v6][:port]` -> (name, port); None when it is not of that form."""
    value = value.strip()
    if value.startswith("["):
        name, bracket, rest = value[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            return None
        port_text = rest[1:] if rest else None
    else:
        name, colon, port_text = value.rpartition(":") if value.count(":") == 1 else (value, "", None)
        if colon and not port_text:
            return None
    if port_text is not None and not port_text.isdigit():
        return None
    return normalised_host(name), int(port_text) if port_text is not None else None


def host_served(header: str | None, names: frozenset[str], port: int | None) -> bool:
    """The Host header names one of `names` and the port the server listens on (80 when it names none)."""
    parsed = split_host_header(header or "")
    if parsed is None or not parsed[0]:
        return False
    name, given_port = parsed
    return name in names and (port is None or (given_port or 80) == port)


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
