"""Every page template's ``title`` block is one line of text: a block left open (or a
section pasted into it) would put markup into the browser's tab title and, through
inheritance, hide part of the page's body there."""

from __future__ import annotations

import re
from pathlib import Path

import medsign.web

TEMPLATES = Path(medsign.web.__file__).parent / "templates"
TITLE = re.compile(r"\{%-?\s*block title\s*-?%\}(.*?)\{%-?\s*endblock", re.S)


def test_title_blocks_are_one_line_of_text() -> None:
    checked = 0
    for path in sorted(TEMPLATES.rglob("*.html")):
        for title in TITLE.findall(path.read_text(encoding="utf-8")):
            checked += 1
            assert "\n" not in title and "<" not in title, f"{path.name}: {title[:80]!r}"
    assert checked > 20  # the pages were found
