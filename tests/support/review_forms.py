"""The review page's decision form as a browser would submit it: every field with the value the page gives
it, a changed text where the test types one, and the button pressed."""

from __future__ import annotations

import html
import re

from tests.support.review_client import BASE

FIELD = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"|<textarea name="([^"]+)"[^>]*>(.*?)</textarea>',
                   re.S)


def form_fields(page_html: str) -> dict[str, str]:
    fields = {}
    for hidden, value, area, text in FIELD.findall(page_html):
        fields[hidden or area] = html.unescape(value if hidden else text)
    return fields


def submit(client, item_id: str, button: tuple[str, str], **typed: str):
    """Load the item's page, change the fields in `typed`, press `button` (name, value)."""
    page = client.get(f"/item/{item_id}")
    assert page.status_code == 200, page.text
    data = {**form_fields(page.text), **typed, button[0]: button[1]}
    return client.post(f"/item/{item_id}/decide", data=data, headers={"origin": BASE}, follow_redirects=False)
