"""How many SMS segments a text takes (3GPP TS 23.038, formerly GSM 03.38; TS 23.040).

A text made only of the GSM 7-bit default alphabet and its extension table goes out
as GSM-7: 160 septets in one message; a longer one is split into segments of 153
septets (the 6-octet concatenation header, TS 23.040 §9.2.3.24.1, takes 7 septets).
An extension character costs two septets (ESC + char) and is never split across two
segments. Anything else goes out as UCS-2: 70 UTF-16 code units in one message, 67 per
segment when concatenated, a surrogate pair never split. Stdlib only.
"""

from __future__ import annotations

from dataclasses import dataclass

# TS 23.038 §6.2.1: the GSM 7-bit default alphabet (basic character set).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# TS 23.038 §6.2.1.1: the extension table, each reached through ESC (two septets).
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


@dataclass(frozen=True)
class SmsSize:
    """The encoding a text needs and the number of segments it is billed as."""

    encoding: str  # "gsm7" or "ucs2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int


def _split(costs: list[int], single: int, part: int) -> int:
    """Segments for characters of the given costs: one if all fit in ``single``, else
    greedy ``part``-sized segments that never split one character."""
    total = sum(costs)
    if total <= single:
        return 1
    segments, used = 1, 0
    for cost in costs:
        if used + cost > part:
            segments += 1
            used = 0
        used += cost
    return segments


def sms_size(text: str) -> SmsSize:
    """The encoding, length and segment count of ``text`` as one SMS (empty: 1 segment)."""
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text):
        costs = [2 if ch in GSM7_EXTENSION else 1 for ch in text]
        return SmsSize("gsm7", sum(costs), _split(costs, GSM7_SINGLE, GSM7_PART))
    costs = [2 if ord(ch) > 0xFFFF else 1 for ch in text]  # astral: a surrogate pair
    return SmsSize("ucs2", sum(costs), _split(costs, UCS2_SINGLE, UCS2_PART))
