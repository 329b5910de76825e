"""Field types of document templates and the API's shapes."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class FieldType(StrEnum):
    """What a field takes; values are checked before anything is drawn."""

    TEXT = "text"  # any text up to 500 characters
    DATE = "date"  # ISO 8601 calendar date, YYYY-MM-DD
    NUMBER = "number"  # a decimal number such as 1500 or 1500.50


MAX_TEXT = 500
_NUMBER = re.compile(r"-?[0-9]{1,15}(?:[.,][0-9]{1,6})?")


def check_value(kind: FieldType, raw: object) -> str | None:
    """The text to draw for ``raw``, or None when it does not fit the type."""
    if isinstance(raw, bool):
        return None
    if kind is FieldType.NUMBER and isinstance(raw, int | float):
        raw = str(raw)
    if not isinstance(raw, str):
        return None
    text = " ".join(raw.split())
    if kind is FieldType.TEXT:
        return text if 0 < len(text) <= MAX_TEXT else None
    if kind is FieldType.DATE:
        try:
            return date.fromisoformat(text).isoformat() if len(text) == 10 else None
        except ValueError:
            return None
    if not _NUMBER.fullmatch(text):
        return None
    try:
        return str(Decimal(text.replace(",", ".")))
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        return None


class TemplateFieldOut(BaseModel):
    """One field of a template."""

    name: str
    type: FieldType
    required: bool


class TemplateOut(BaseModel):
    """A document template (the 201 answer of an upload)."""

    id: str
    name: str
    kind: str
    title: str
    fields: list[TemplateFieldOut]


class FromTemplateIn(BaseModel):
    """``POST /api/v1/documents/from-template``."""

    template_id: str = Field(max_length=64)
    fields: dict[str, Any] = Field(
        default_factory=dict,
        description="Field name -> value: text, a date YYYY-MM-DD, or a number.",
    )
    title: str | None = Field(default=None, max_length=300)
    branch_id: str | None = Field(default=None, max_length=64)
