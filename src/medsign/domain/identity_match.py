"""Does the person an identity provider vouched for equal the signer on file?

A national id (e.g. SNILS) decides when both sides carry one; else the full name and
the birth date must both agree. Names are compared after normalisation: Unicode NFKC,
case folded, runs of spaces and hyphens as one space, "ё" as "е" (the two are one letter
in Russian official records, Rosstandart GOST R 7.0.34-2014), and Latin letters that
look like Cyrillic ones read as Cyrillic in a name written mostly in Cyrillic (a clerk
who typed a Latin "o" in "Иванoва" means the same person). Stdlib only.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

# Latin letters with a Cyrillic twin of the same shape (lower case, after casefold).
_LOOKALIKES = str.maketrans(
    {
        "a": "а",
        "b": "в",  # upper-case B / В
        "c": "с",
        "e": "е",
        "h": "н",  # upper-case H / Н
        "k": "к",
        "m": "м",  # upper-case M / М
        "o": "о",
        "p": "р",
        "t": "т",  # upper-case T / Т
        "x": "х",
        "y": "у",
    }
)
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—]+")


class MatchOutcome(StrEnum):
    """The answer, with the reason when it is not a match."""

    MATCH = "match"
    NATIONAL_ID_DIFFERS = "national_id_differs"
    NAME_DIFFERS = "name_differs"
    BIRTH_DATE_DIFFERS = "birth_date_differs"
    NOT_ENOUGH_DATA = "not_enough_data"


@dataclass(frozen=True)
class Person:
    """What one side knows of the person; any part may be missing."""

    name: str | None = None
    birth_date: date | None = None
    national_id: str | None = None


def _is_cyrillic(ch: str) -> bool:
    return "CYRILLIC" in unicodedata.name(ch, "")


def normalize_name(name: str) -> str:
    """The comparable form of a full name (see the module docstring)."""
    text = unicodedata.normalize("NFKC", name).casefold()
    text = _SEPARATORS.sub(" ", text).strip().replace("ё", "е")
    letters = [ch for ch in text if ch.isalpha()]
    cyrillic = sum(1 for ch in letters if _is_cyrillic(ch))
    if letters and cyrillic * 2 > len(letters):
        text = text.translate(_LOOKALIKES)
    return text


def normalize_national_id(value: str) -> str:
    """Digits only: SNILS is written ``123-456-789 01`` or ``12345678901``."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", value) if ch.isdigit())


def _name_key(name: str) -> tuple[str, ...]:
    """Words of the name in sorted order: providers give "Family Given Patronymic" or
    "Given Patronymic Family"."""
    return tuple(sorted(normalize_name(name).split()))


def match(on_file: Person, vouched: Person) -> MatchOutcome:
    """Compare the signer on file with the identity the provider vouched for."""
    if on_file.national_id and vouched.national_id:
        same = normalize_national_id(on_file.national_id) == normalize_national_id(
            vouched.national_id
        )
        return MatchOutcome.MATCH if same else MatchOutcome.NATIONAL_ID_DIFFERS
    if not (on_file.name and vouched.name and on_file.birth_date and vouched.birth_date):
        return MatchOutcome.NOT_ENOUGH_DATA
    if _name_key(on_file.name) != _name_key(vouched.name):
        return MatchOutcome.NAME_DIFFERS
    if on_file.birth_date != vouched.birth_date:
        return MatchOutcome.BIRTH_DATE_DIFFERS
    return MatchOutcome.MATCH
