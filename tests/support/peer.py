"""What every loopback test peer shares: start/stop, usable as a context manager."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class LoopbackPeer:
    """A server a test starts on 127.0.0.1; subclasses implement ``start`` and ``stop``."""

    def start(self) -> None:
        """Start serving."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop serving and release the port."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
