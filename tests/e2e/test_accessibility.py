"""axe-core finds no serious or critical violation on the public pages (DESIGN.md,
"Patient pages"); the checker itself is shown to catch a page that breaks the rules."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.support.axe import assert_accessible, serious_violations
from tests.support.served import ServedStack


@pytest.mark.parametrize("lang", ["en", "ru", "fa"])
def test_verify_page_is_accessible(served: ServedStack, page: Page, lang: str) -> None:
    page.goto(f"{served.app.url}/verify?lang={lang}")
    assert_accessible(page)


def test_the_checker_catches_an_unlabelled_field(page: Page) -> None:
    page.set_content("<html><body><img src='x.png'><input type='text'></body></html>")
    ids = {v["id"] for v in serious_violations(page)}
    assert {"image-alt", "label"} <= ids
