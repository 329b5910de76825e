"""The templates' built-in wording and labels (no I/O): every event has a text in every
language that passes the save-time check, and statuses read in the message's language."""

from __future__ import annotations

import pytest

from medsign.i18n import LANGS
from medsign.reminders.templates import (
    DEFAULTS,
    EVENT_PARAMS,
    SAMPLE,
    STATUS_LABELS,
    check_source,
    render,
    status_label,
)


@pytest.mark.parametrize("event", sorted(EVENT_PARAMS))
def test_every_event_has_checked_wording_in_every_language(event: str) -> None:
    assert set(DEFAULTS[event]) == set(LANGS)
    for subject, text in DEFAULTS[event].values():
        check_source(event, subject, field="subject")
        check_source(event, text, field="text")
        out = render(subject, text, None, {k: SAMPLE[k] for k in EVENT_PARAMS[event]})
        assert out.text and "{{" not in out.text


def test_statuses_read_in_the_messages_language() -> None:
    assert status_label("completed", "ru") == "завершён"
    assert status_label("no_show", "fa") == "غیبت"
    assert status_label("completed", "de") == "completed"
    assert status_label("mystery", "ru") == "mystery"
    assert all(set(labels) == set(LANGS) for labels in STATUS_LABELS.values())
