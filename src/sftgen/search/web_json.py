"""One GET returning JSON, with failures turned into SearchErrors that name the backend."""

from __future__ import annotations

from typing import Any

import httpx

from sftgen.search.base import SearchError


async def get_json(client: httpx.AsyncClient, url: str, params: dict[str, Any], headers: dict[str, str],
                   backend: str) -> dict[str, Any]:
    try:
        response = await client.get(url, params=params, headers=headers)
    except httpx.TimeoutException as exc:
        raise SearchError("timeout", f"{backend}: {url}: {exc}") from exc
    except httpx.HTTPError as exc:
        raise SearchError("unreachable", f"{backend}: {url}: {type(exc).__name__}: {exc}") from exc
    if response.status_code in (401, 403):
        raise SearchError("unauthorized", f"{backend}: HTTP {response.status_code} (check the API key)")
    if response.status_code == 429:
        raise SearchError("rate_limited", f"{backend}: HTTP 429")
    if response.status_code >= 400:
        raise SearchError("http_error", f"{backend}: HTTP {response.status_code}: {response.text[:200]}")
    try:
        data = response.json()
    except ValueError as exc:
        raise SearchError("bad_reply", f"{backend}: reply is not JSON: {response.text[:200]!r}") from exc
    if not isinstance(data, dict):
        raise SearchError("bad_reply", f"{backend}: reply is not a JSON object")
    return data
