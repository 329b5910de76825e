"""Accessibility checks with axe-core (npm, installed by scripts/install-node.sh).

``serious_violations(page)`` injects axe-core into a Playwright page, runs it on the
whole document (WCAG 2.x A and AA rules) and returns the violations whose impact is
``serious`` or ``critical``, the bar DESIGN.md sets for every page. Tests skip, not pass,
when axe-core is not installed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

AXE_JS = Path(__file__).resolve().parents[2] / ".cache/node/node_modules/axe-core/axe.min.js"
BLOCKING = ("serious", "critical")


def serious_violations(page: Page) -> list[dict[str, Any]]:
    """The serious and critical axe-core violations on ``page``, as axe reports them."""
    if not AXE_JS.exists():
        pytest.skip(f"{AXE_JS} is missing (run scripts/install-node.sh)")
    # evaluate, not add_script_tag: Playwright's evaluate is not bound by the page's CSP,
    # which allows only the page's own scripts.
    page.evaluate(AXE_JS.read_text(encoding="utf-8"))
    result: dict[str, Any] = page.evaluate(
        """async () => await axe.run(document, {
            runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
            resultTypes: ['violations'],
        })"""
    )
    return [v for v in result["violations"] if v.get("impact") in BLOCKING]


def assert_accessible(page: Page) -> None:
    """Fail with axe-core's own words when the page has a serious or critical violation."""
    found = serious_violations(page)
    assert not found, "axe-core found:\n" + "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(n["target"]) for n in v["nodes"][:3])
        for v in found
    )
