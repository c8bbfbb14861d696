"""URLs as they may be recorded: without user info and without query parameters that look like secrets.

`redact_url` is the one function every place that stores, logs, exports, caches or shows a URL calls
(document and chunk meta, refusal details, progress labels, the page cache, prompts). The request
itself is sent to the URL as given. `redact_urls_in` does the same for every URL inside a message.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_plus

SECRET_WORDS = frozenset({
    "token", "key", "apikey", "password", "passwd", "pwd", "pass", "secret", "sig", "signature", "auth",
    "authorization", "credential", "credentials", "session", "sessionid", "jwt", "bearer",
    "accesstoken", "authtoken", "refreshtoken", "privatekey",
})
"""A parameter is a secret when its name, or one word of its name (split at `_`, `-`, `.`), is one of these:
`token`, `api_key`, `access_token`, `X-Amz-Signature`, `client_secret`... but not `monkey` or `keyword`."""
URL_IN_TEXT = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>]+", re.IGNORECASE)
TRAILING_PUNCTUATION = ".,:;)]}!?"


def is_secret_parameter(name: str) -> bool:
    lowered = name.lower()
    words = [word for word in re.split(r"[^a-z0-9]+", lowered) if word]
    return lowered in SECRET_WORDS or "".join(words) in SECRET_WORDS or any(word in SECRET_WORDS for word in words)


def redact_url(url: str) -> str:
    """The URL without `user:password@` and without secret-looking query parameters; everything else
    exactly as it was (the kept parameters keep their encoding). Works on malformed URLs too."""
    head, hash_sign, fragment = url.partition("#")
    base, question_mark, query = head.partition("?")
    scheme, separator, rest = base.partition("://")
    if separator:
        authority, slash, path = rest.partition("/")
        base = f"{scheme}://{authority.rpartition('@')[2]}{slash}{path}"
    query, fragment = without_secrets(query), without_secrets(fragment)  # `#access_token=...` too
    question_mark = question_mark if query or url.endswith("?") else ""
    hash_sign = hash_sign if fragment or url.endswith("#") else ""
    return f"{base}{question_mark}{query}{hash_sign}{fragment}"


def without_secrets(parameters: str) -> str:
    """`a=1&token=2` -> `a=1`; parameters that are not secrets are kept as written."""
    pairs = parameters.split("&")
    kept = [pair for pair in pairs if not is_secret_parameter(unquote_plus(pair.partition("=")[0]))]
    return parameters if len(kept) == len(pairs) else "&".join(kept)


def redact_urls_in(text: str) -> str:
    """Every URL in a message (a refusal's detail, an error) redacted; the rest of the text unchanged."""
    def redacted(found: re.Match[str]) -> str:
        url = found.group(0)
        core = url.rstrip(TRAILING_PUNCTUATION)
        return redact_url(core) + url[len(core):]

    return URL_IN_TEXT.sub(redacted, text)
