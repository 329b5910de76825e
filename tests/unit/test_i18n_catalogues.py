"""The text catalogues: every area's keys in all three languages, and no area silently
redefining another's words (a console label once replaced the verify page's)."""

from __future__ import annotations

import pytest

from medsign import i18n


def test_every_text_has_every_language() -> None:
    missing = [k for k, texts in i18n.TEXTS.items() if set(i18n.LANGS) - set(texts)]
    assert missing == []


def test_a_key_redefined_with_other_words_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(i18n, "TEXTS", {"method_external": {"en": "Qualified"}})
    i18n._add({"method_external": {"en": "Qualified"}})  # the same words: fine
    with pytest.raises(ValueError, match="method_external"):
        i18n._add({"method_external": {"en": "Something else"}})
