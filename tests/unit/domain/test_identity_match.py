"""Matching the person a provider vouched for with the signer on file."""

from __future__ import annotations

from datetime import date

from medsign.domain.identity_match import MatchOutcome, Person, match, normalize_name

BORN = date(1990, 4, 12)


def test_normalisation_folds_case_spaces_yo_and_lookalikes() -> None:
    assert normalize_name("  СЕМЁНОВА   Алёна-Мария ") == "семенова алена мария"
    # Latin "o", "a", "e" typed inside a Cyrillic name
    assert normalize_name("Иванoва Мaрия Петровнa") == normalize_name("Иванова Мария Петровна")
    # a name written in Latin letters stays Latin
    assert normalize_name("Maria Ivanova") == "maria ivanova"


def test_name_and_birth_date() -> None:
    on_file = Person("Иванова Мария Петровна", BORN)
    assert match(on_file, Person("Мария Петровна ИВАНОВА", BORN)) is MatchOutcome.MATCH
    assert match(on_file, Person("Иванова Мария", BORN)) is MatchOutcome.NAME_DIFFERS
    assert (
        match(on_file, Person("Иванова Мария Петровна", date(1990, 4, 13)))
        is MatchOutcome.BIRTH_DATE_DIFFERS
    )
    assert match(on_file, Person("Иванова Мария Петровна")) is MatchOutcome.NOT_ENOUGH_DATA
    assert match(Person("Иванова Мария Петровна"), on_file) is MatchOutcome.NOT_ENOUGH_DATA


def test_national_id_decides_when_both_have_one() -> None:
    on_file = Person("Иванова Мария", BORN, "112-233-445 95")
    assert match(on_file, Person("Someone Else", None, "11223344595")) is MatchOutcome.MATCH
    assert (
        match(on_file, Person("Иванова Мария", BORN, "11223344596"))
        is MatchOutcome.NATIONAL_ID_DIFFERS
    )
    # only one side has it: name and birth date decide
    assert match(on_file, Person("Иванова Мария", BORN)) is MatchOutcome.MATCH
