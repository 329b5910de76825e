"""Message templates: safe rendering, checks at save time, and the built-in wording.

Templates are Jinja2 text rendered in a :class:`~jinja2.sandbox.SandboxedEnvironment`
(no attribute access to Python internals, bounded ``range``), with ``StrictUndefined``
(a missing value is an error, never an empty string) and HTML autoescaping for the
HTML part of an email. The parameters a template may use are fixed per event; any other
name is refused when the template is saved, found by walking the parsed template
(``jinja2.meta.find_undeclared_variables``), so a message never fails at send time for
a typo.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError, meta
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from medsign.errors import InvalidInput
from medsign.i18n import LANGS

MAX_TEXT = 2000  # characters of an SMS/text template
MAX_HTML = 20000
MAX_OUTPUT = 20000  # characters a rendered part may have
_MAX_REPEAT = 1000  # "x" * n in a template

COMMON = ("patient_name", "clinic", "link")
APPOINTMENT = (*COMMON, "appointment_time", "appointment_date", "doctor", "service", "status")

# Events of rules (medsign.reminders.service.RULE_EVENTS) and of documents; each with
# the parameters its templates may use.
EVENT_PARAMS: dict[str, tuple[str, ...]] = {
    "appointment.before": APPOINTMENT,
    "appointment.after_service": APPOINTMENT,
    "appointment.status_changed": APPOINTMENT,
    "results.ready": APPOINTMENT,
    "patient.birthday": COMMON,
    "document.sent": (*COMMON, "document_title"),
}

SAMPLE: dict[str, str] = {
    "patient_name": "Maria Ivanova",
    "clinic": "Clinic One",
    "link": "https://medsign.example/cabinet",
    "appointment_time": "2026-12-01 10:30 +03:00",
    "appointment_date": "2026-12-01",
    "doctor": "Dr. Petrov",
    "service": "Consultation",
    "status": "scheduled",
    "document_title": "Informed consent",
}


class _Sandbox(SandboxedEnvironment):
    """The sandbox, plus: no ``**`` and no huge ``*`` repetition (memory bombs)."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator_: str, left: Any, right: Any) -> Any:
        if operator_ == "**":
            raise SecurityError("the power operator is not allowed in templates")
        if isinstance(left, (str, list)) or isinstance(right, (str, list)):
            times = right if isinstance(left, (str, list)) else left
            if not isinstance(times, int) or times > _MAX_REPEAT:
                raise SecurityError("repetition too large in a template")
        return operator.mul(left, right)


_TEXT_ENV = _Sandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
_HTML_ENV = _Sandbox(undefined=StrictUndefined, autoescape=True)


@dataclass(frozen=True)
class Rendered:
    """One message, ready for a channel."""

    subject: str
    text: str
    html: str | None = None


def check_event(event: str) -> tuple[str, ...]:
    """The parameters of ``event``'s templates; InvalidInput for an unknown event."""
    params = EVENT_PARAMS.get(event)
    if params is None:
        raise InvalidInput(
            f"Unknown event {event!r}; use one of {', '.join(EVENT_PARAMS)}.", field="event"
        )
    return params


def check_source(event: str, source: str, *, field: str, html: bool = False) -> None:
    """Refuse (422) a template that does not parse, is too long or names a parameter
    ``event`` does not have; the problem names the unknown ones and the allowed ones."""
    allowed = check_event(event)
    limit = MAX_HTML if html else MAX_TEXT
    if len(source) > limit:
        raise InvalidInput(f"`{field}` is longer than {limit} characters.", field=field)
    env = _HTML_ENV if html else _TEXT_ENV
    try:
        tree = env.parse(source)
    except TemplateError as exc:
        raise InvalidInput(f"`{field}` is not a valid template: {exc}.", field=field) from None
    unknown = sorted(meta.find_undeclared_variables(tree) - set(allowed))
    if unknown:
        raise InvalidInput(
            f"`{field}` uses unknown parameter(s) {', '.join(unknown)}; "
            f"{event} templates may use {', '.join(allowed)}.",
            field=field,
            unknown=unknown,
            allowed=list(allowed),
        )


def check_lang(lang: str) -> None:
    """Refuse a language medsign has no texts in."""
    if lang not in LANGS:
        raise InvalidInput(f"Unknown language {lang!r}; use {', '.join(LANGS)}.", field="lang")


@lru_cache(maxsize=1024)
def _compiled(source: str, html: bool) -> Any:
    return (_HTML_ENV if html else _TEXT_ENV).from_string(source)


def render_part(source: str, params: Mapping[str, str], *, html: bool = False) -> str:
    """Render one checked template; InvalidInput when rendering fails (a sandbox
    refusal, a missing value) or the output is too long."""
    try:
        out = str(_compiled(source, html).render(**params))
    except (TemplateError, SecurityError, TypeError, ValueError, OverflowError) as exc:
        raise InvalidInput(f"The template cannot be rendered: {exc}.", field="text") from None
    if len(out) > MAX_OUTPUT:
        raise InvalidInput("The rendered message is too long.", field="text")
    return out.strip()


def render(subject: str, text: str, html: str | None, params: Mapping[str, str]) -> Rendered:
    """Render a template's parts with ``params`` (HTML escaped in the HTML part only)."""
    return Rendered(
        subject=render_part(subject, params) if subject else "",
        text=render_part(text, params),
        html=render_part(html, params, html=True) if html else None,
    )


# --- the built-in wording, used when an organization has not written its own ------------

# ``{{ status }}`` in a message: the appointment's status in the message's language.
STATUS_LABELS: dict[str, dict[str, str]] = {
    "scheduled": {"en": "scheduled", "ru": "запланирован", "fa": "برنامه‌ریزی شده"},
    "confirmed": {"en": "confirmed", "ru": "подтверждён", "fa": "تأیید شده"},
    "notified": {"en": "reminded", "ru": "напоминание отправлено", "fa": "یادآوری شده"},
    "arrived": {"en": "arrived", "ru": "пациент пришёл", "fa": "حاضر شده"},
    "completed": {"en": "completed", "ru": "завершён", "fa": "انجام شده"},
    "no_show": {"en": "missed", "ru": "пациент не пришёл", "fa": "غیبت"},
    "cancelled": {"en": "cancelled", "ru": "отменён", "fa": "لغو شده"},
}


def status_label(status: str, lang: str) -> str:
    """How ``status`` reads in ``lang`` (the raw value when unknown)."""
    labels = STATUS_LABELS.get(status, {})
    return labels.get(lang, labels.get("en", status))


_APPT = {
    "en": "{{ patient_name }}, your appointment at {{ clinic }}: {{ appointment_time }}, "
    "{{ doctor }}, {{ service }}.",
    "ru": "{{ patient_name }}, вы записаны в {{ clinic }}: {{ appointment_time }}, "
    "{{ doctor }}, {{ service }}.",
    "fa": "{{ patient_name }}، نوبت شما در {{ clinic }}: {{ appointment_time }}، "
    "{{ doctor }}، {{ service }}.",
}

DEFAULTS: dict[str, dict[str, tuple[str, str]]] = {
    "appointment.before": {
        "en": ("Appointment reminder", _APPT["en"]),
        "ru": ("Напоминание о приёме", _APPT["ru"]),
        "fa": ("یادآوری نوبت", _APPT["fa"]),
    },
    "appointment.after_service": {
        "en": (
            "How are you?",
            "{{ patient_name }}, how are you after {{ service }} at {{ clinic }}? "
            "Tell us: {{ link }}",
        ),
        "ru": (
            "Как вы себя чувствуете?",
            "{{ patient_name }}, как вы себя чувствуете после услуги «{{ service }}» "
            "в {{ clinic }}? Расскажите нам: {{ link }}",
        ),
        "fa": (
            "حال شما چطور است؟",
            "{{ patient_name }}، پس از «{{ service }}» در {{ clinic }} حال شما چطور است؟ "
            "به ما بگویید: {{ link }}",
        ),
    },
    "appointment.status_changed": {
        "en": (
            "Your appointment",
            "{{ patient_name }}, your appointment at {{ clinic }} "
            "on {{ appointment_time }} is now: {{ status }}.",
        ),
        "ru": (
            "Ваш приём",
            "{{ patient_name }}, статус вашего приёма в {{ clinic }} "
            "{{ appointment_time }}: {{ status }}.",
        ),
        "fa": (
            "نوبت شما",
            "{{ patient_name }}، وضعیت نوبت شما در {{ clinic }} "
            "{{ appointment_time }}: {{ status }}.",
        ),
    },
    "results.ready": {
        "en": (
            "Your results are ready",
            "{{ patient_name }}, your results from {{ clinic }} are ready: {{ link }}",
        ),
        "ru": (
            "Результаты готовы",
            "{{ patient_name }}, ваши результаты в {{ clinic }} готовы: {{ link }}",
        ),
        "fa": (
            "نتایج شما آماده است",
            "{{ patient_name }}، نتایج شما در {{ clinic }} آماده است: {{ link }}",
        ),
    },
    "patient.birthday": {
        "en": ("Happy birthday!", "{{ patient_name }}, {{ clinic }} wishes you a happy birthday!"),
        "ru": (
            "С днём рождения!",
            "{{ patient_name }}, {{ clinic }} поздравляет вас с днём рождения!",
        ),
        "fa": ("تولدتان مبارک!", "{{ patient_name }}، {{ clinic }} تولد شما را تبریک می‌گوید!"),
    },
    "document.sent": {
        "en": (
            "Document to sign: {{ document_title }}",
            "{{ clinic }} asks you to sign “{{ document_title }}”. Open: {{ link }}",
        ),
        "ru": (
            "Документ на подпись: {{ document_title }}",
            "{{ clinic }} просит вас подписать «{{ document_title }}». Откройте: {{ link }}",
        ),
        "fa": (
            "سند برای امضا: {{ document_title }}",
            "{{ clinic }} از شما می‌خواهد «{{ document_title }}» را امضا کنید. باز کنید: {{ link }}",
        ),
    },
}
