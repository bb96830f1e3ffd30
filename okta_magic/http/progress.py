"""How a pull shows itself while it runs: a tqdm bar, a callable fed :class:`Progress`, or nothing.

A bar is opened only for multi-page pulls (when the second page is requested) or when a wait
begins. Any wait longer than ``ratelimit.LONG_WAIT`` seconds is said once, in one line: to the
``say`` callable when there is one, else to stderr (through the bar, so that both stay whole).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from okta_magic.http.ratelimit import LONG_WAIT, wait_line

__all__ = ["Progress", "ProgressView", "BatchView", "say_line", "REDRAW"]

REDRAW = 0.1  # seconds between two draws of a batch's bar (tqdm's own mininterval)


@dataclass(frozen=True)
class Progress:
    """What a pull is doing, for a progress callback (``waiting`` > 0 while it sleeps)."""

    pages: int
    rows: int
    remaining: int | None
    waiting: float = 0.0
    message: str = ""


def say_line(line: str, say: Callable[[str], object] | None = None, bar: Any = None) -> None:
    """Tell the user one line: to ``say`` if given, else to stderr (through ``bar`` so that it stays whole)."""
    if say is not None:
        say(line)
    elif bar is not None:
        bar.write(line, file=sys.stderr)
    else:
        print(line, file=sys.stderr, flush=True)


def _draw(progress: bool | Callable[[Progress], object], bar: Any, state: Progress, **postfix: object) -> None:
    """Hand ``state`` to a progress callable, or draw it on the bar (pages done, ``postfix``, a wait)."""
    if callable(progress):
        progress(state)
        return
    if bar is None:
        return
    bar.set_postfix(**postfix, refresh=False)
    bar.set_description_str(f"waiting {state.waiting:.0f} s ({state.message})" if state.waiting else "okta",
                            refresh=False)
    bar.n = state.pages
    bar.refresh()


class ProgressView:
    """One pull's display: ``progress`` is True (a tqdm bar), False (nothing) or a callable taking Progress.

    ``where`` names the request in the long-wait line (``GET /api/v1/users``).
    """

    def __init__(self, progress: bool | Callable[[Progress], object], where: str,
                 say: Callable[[str], object] | None = None) -> None:
        self._progress = progress
        self._where = where
        self._say = say
        self._bar: Any = None

    @property
    def shown(self) -> bool:
        """True when something displays the pull (an open bar or a callable)."""
        return self._bar is not None or callable(self._progress)

    def update(self, state: Progress) -> None:
        """Show ``state`` (to the callable, or on the bar when one is open)."""
        _draw(self._progress, self._bar, state, rows=state.rows, remaining=state.remaining)

    def waiting(self, state: Progress) -> None:
        """A wait begins: shown even before the first page (a 429 can mean a minute of silence otherwise)."""
        self.open(state.pages)
        self.update(state)
        if state.waiting > LONG_WAIT and not callable(self._progress):
            # Said once, in one line, bar or no bar (progress=False would otherwise be silent).
            say_line(wait_line(state.waiting, self._where, state.message), self._say, self._bar)

    def open(self, pages: int) -> None:
        """Open the bar (when asked for one and none is open yet), starting at ``pages``."""
        if self._progress is True and self._bar is None:
            from tqdm.auto import tqdm

            self._bar = tqdm(desc="okta", unit=" pages", initial=pages, leave=False)

    def close(self) -> None:
        """Close the bar, if one is open."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class BatchView:
    """One display for many requests at once (a fan-out or a partitioned pull): requests done of total,
    rows, the rate, and any wait in progress.

    ``progress`` is True (a tqdm bar over requests), False (nothing) or a callable taking :class:`Progress`
    (``pages`` then counts the requests done). Thread-safe: each request's stream reports through
    :meth:`reporter`.
    """

    def __init__(self, progress: bool | Callable[[Progress], object], total: int, where: str,
                 say: Callable[[str], object] | None = None) -> None:
        import threading

        self._progress = progress
        self._total = total
        self._where = where
        self._say = say
        self._lock = threading.Lock()
        self._done = self._rows = 0
        self._bar: Any = None
        self._drawn = 0.0  # when the bar was last drawn
        self._said_wait = False

    def open(self) -> None:
        """Open the bar (when asked for one and there is more than one request), at the count so far.

        A batch calls this once its first requests are on their way: importing and drawing the bar then
        overlaps their round trip instead of delaying it.
        """
        if self._progress is not True or self._total <= 1 or self._bar is not None:
            return
        from tqdm.auto import tqdm

        bar = tqdm(total=self._total, desc="okta", unit=" requests", leave=False)
        with self._lock:
            self._bar = bar
            self._show(Progress(self._done, self._rows, None))

    def reporter(self) -> Callable[[Progress], None]:
        """A progress callable for one request's stream: its waits are shown on the shared display."""
        def report(state: Progress) -> None:
            if state.waiting:
                self.waiting(state.waiting, state.message)
        return report

    def add(self, *, done: int = 0, rows: int = 0) -> None:
        """Count requests finished and rows arrived (a bar is redrawn at most every :data:`REDRAW` seconds)."""
        with self._lock:
            self._done += done
            self._rows += rows
            if self._bar is not None:
                now = time.monotonic()
                if now - self._drawn < REDRAW and self._done < self._total:
                    return  # each draw costs the workers a fraction of a millisecond; tqdm's own pace is this
                self._drawn = now
            self._show(Progress(self._done, self._rows, None))

    def waiting(self, seconds: float, why: str) -> None:
        """A request waits (429, pacing, retry); a long wait is said once, in one line."""
        with self._lock:
            self._show(Progress(self._done, self._rows, None, seconds, why))
            if seconds > LONG_WAIT and not self._said_wait and not callable(self._progress):
                self._said_wait = True
                say_line(wait_line(seconds, self._where, why), self._say, self._bar)

    def _show(self, state: Progress) -> None:
        _draw(self._progress, self._bar, state, rows=state.rows)

    def close(self) -> None:
        """Close the bar, if one is open."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
