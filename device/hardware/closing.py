"""Context-manager plumbing shared by every hardware adapter: ``with`` closes the device.

``Closable`` is what the hardware Protocols (camera, microphone) promise; ``Closing`` is the base every
adapter inherits it from, so ``__enter__``/``__exit__`` are written once.
"""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self


class Closable(Protocol):
    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


class Closing:
    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
