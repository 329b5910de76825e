"""SMS segment counting (3GPP TS 23.038 alphabets, TS 23.040 concatenation)."""

from __future__ import annotations

import pytest

from medsign.domain.sms_segments import sms_size


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", "gsm7", 0, 1),
        ("a" * 160, "gsm7", 160, 1),
        ("a" * 161, "gsm7", 161, 2),
        ("a" * 306, "gsm7", 306, 2),
        ("a" * 307, "gsm7", 307, 3),
        ("€" * 80, "gsm7", 160, 1),  # extension table: two septets each
        ("€" * 81, "gsm7", 162, 2),
        ("a" * 152 + "€" + "a", "gsm7", 155, 1),  # 155 septets still fit in one
        # ESC+€ is never split: 152 | 2+151 | 1, three parts for 306 septets
        ("a" * 152 + "€" + "a" * 152, "gsm7", 306, 3),
        ("Код 123456", "ucs2", 10, 1),
        ("я" * 70, "ucs2", 70, 1),
        ("я" * 71, "ucs2", 71, 2),
        ("я" * 134, "ucs2", 134, 2),
        ("я" * 135, "ucs2", 135, 3),
        ("😀" * 35, "ucs2", 70, 1),  # astral: a surrogate pair each
        ("я" * 66 + "😀", "ucs2", 68, 1),
        ("я" * 66 + "😀" + "я" * 66, "ucs2", 134, 3),  # the pair is not split: 66 | 67 | 1
        ("کد امضا", "ucs2", 7, 1),
    ],
)
def test_sizes(text: str, encoding: str, units: int, segments: int) -> None:
    size = sms_size(text)
    assert (size.encoding, size.units, size.segments) == (encoding, units, segments)


def test_splitting_counts_whole_characters() -> None:
    # 153 septets fill a part exactly; one extension char more opens a third part
    # only when it would straddle the boundary.
    assert sms_size("a" * 305 + "€").segments == 3
    assert sms_size("a" * 304 + "€").segments == 2
