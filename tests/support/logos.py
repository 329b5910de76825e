"""Logo images for branding tests."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (300, 100), **info: Any) -> bytes:
    """A small two-colour image (a logo) encoded as ``fmt``."""
    image = Image.new("RGB", size, (11, 92, 173))
    image.paste((255, 255, 255), (size[0] // 3, size[1] // 3, size[0] // 2, size[1] // 2))
    out = io.BytesIO()
    image.save(out, fmt, **info)
    return out.getvalue()
