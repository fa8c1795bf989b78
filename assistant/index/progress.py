"""Progress bars for long work: what a build reports to, and the terminal's bar (tqdm)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol


class ProgressBar(Protocol):
    def update(self, n: int) -> Any: ...
    def close(self) -> Any: ...


class ProgressFactory(Protocol):
    """Makes a progress bar for ``total`` items of ``unit`` ("chunk", "sentence" or "word")."""

    def __call__(self, total: int, *, unit: str = "chunk") -> ProgressBar: ...


@contextmanager
def progress_of(
    factory: ProgressFactory | None, total: int, unit: str
) -> Iterator[Callable[[int], Any] | None]:
    """A bar's ``update`` while the work runs (None without a factory); the bar closes after."""
    bar = factory(total, unit=unit) if factory else None
    try:
        yield bar.update if bar else None
    finally:
        if bar is not None:
            bar.close()


def terminal_progress(total: int, *, unit: str = "chunk") -> ProgressBar:
    """A tqdm progress bar on stderr for embedding ``total`` chunks (or sentences, or words)."""
    import sys

    from tqdm import tqdm

    desc = "Embedding" if unit == "chunk" else f"Embedding {unit}s"
    bar: ProgressBar = tqdm(total=total, unit=unit, desc=desc, file=sys.stderr, dynamic_ncols=True)
    return bar
