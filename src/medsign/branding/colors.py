"""Brand colours: ``#rrggbb`` values and their contrast with white text (WCAG 2.2).

Both brand colours carry white text (buttons) or sit as text on the white page (links,
headings), so each must reach the AA ratio for normal text, 4.5:1, against white
(WCAG 2.2 SC 1.4.3; relative luminance and contrast ratio as defined in its glossary).
"""

from __future__ import annotations

import re

from medsign.errors import InvalidInput

AA_NORMAL_TEXT = 4.5
_HEX = re.compile(r"#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})")


def normalize_hex(value: str, label: str) -> str:
    """``#abc`` / ``aabbcc`` / ``#AABBCC`` -> ``#aabbcc``; anything else is refused."""
    match = _HEX.fullmatch(value.strip())
    if match is None:
        raise InvalidInput(f"The {label} must be a colour like #0b5cad (# and 6 hex digits).")
    digits = match.group(1).lower()
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return f"#{digits}"


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(color: str) -> float:
    """WCAG 2.2 relative luminance of a ``#rrggbb`` colour (sRGB)."""
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast_ratio(first: str, second: str) -> float:
    """WCAG 2.2 contrast ratio, (L1 + 0.05) / (L2 + 0.05) with L1 the lighter."""
    a, b = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def checked_brand_color(value: str, label: str) -> str:
    """A normalized colour that white text on it (and it on white) can be read in;
    a paler one is refused with its ratio and what to do."""
    color = normalize_hex(value, label)
    ratio = contrast_ratio(color, "#ffffff")
    if ratio < AA_NORMAL_TEXT:
        raise InvalidInput(
            f"The {label} {color} has a contrast of {ratio:.2f}:1 with white text; "
            f"WCAG AA needs at least {AA_NORMAL_TEXT}:1. Choose a darker colour."
        )
    return color
