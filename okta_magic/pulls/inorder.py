"""Many requests' pages handed on in the result's order while they are still being fetched (``--to`` with
``--each`` or ``--parallel``): a file written as the pages arrive, not once every request is done.

Workers fetch several requests at once, so pages arrive out of order. :class:`InOrder` keeps each
request's pages until every request before it is written, then hands them to ``write(key, data)``
in the caller's thread; the first unwritten request (the *head*) goes through as its pages arrive.
Memory is bounded, not by the rows of the pull: a request may start only while fewer than
``keys_ahead`` requests and ``rows_ahead`` rows wait behind the head (the head always may); a request
under way that is not the head pauses between pages while ``rows_ahead`` rows wait, and the head
pauses while more than ``head_rows`` of its rows are not yet written (a file slower than the org).
Thresholds count rows, not pages: a page holds 200 users, or 1,000 group members, or one object.

Two ways to end, chosen by the caller:

* a fan-out (``prefix=False``): the values are independent. A value's rows are written once its
  request is complete, so a value that fails gives no rows, as in the DataFrame; one that has more
  than ``hold_rows`` rows goes through as it arrives (its rows stay if it later fails: see
  :attr:`InOrder.spilled_failures`). Interrupted, every row fetched is written, in the values' order.
* a partitioned pull (``prefix=True``): the parts are windows of one list. Only an unbroken prefix of
  the list is written: pages go through as they arrive, and nothing after a part that failed or did
  not finish, so that a System Log file continued with ``--append`` has no gap.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["InOrder", "rows_in"]


def rows_in(data: Any) -> int:
    """The rows a page's data holds (an Arrow table, a JSON array, one object)."""
    if data is None or isinstance(data, str):
        return 0
    if isinstance(data, dict):
        return 1
    rows = getattr(data, "num_rows", None)
    return int(rows) if rows is not None else len(data)


class InOrder:
    """See the module docstring. Workers call :meth:`may_start`, :meth:`page`, :meth:`end`; the caller's
    thread calls :meth:`wait` and :meth:`drain`."""

    def __init__(self, keys: Sequence[Any], write: Callable[[Any, Any], None], *, prefix: bool,
                 keys_ahead: int = 32, rows_ahead: int = 10_000, hold_rows: int = 5_000,
                 head_rows: int = 5_000) -> None:
        self._keys = list(keys)
        self._index = {key: i for i, key in enumerate(self._keys)}
        self._write = write
        self.prefix = prefix
        self._keys_ahead = max(1, keys_ahead)
        self._rows_ahead = rows_ahead
        self._hold = 0 if prefix else hold_rows
        self._head_rows = self._hold + head_rows
        self._cond = threading.Condition()
        self._wake = threading.Event()
        self._head = 0
        self._pages: dict[Any, list[Any]] = {}
        self._unwritten: dict[Any, int] = {}  # rows of each key's pages held here
        self._ended: dict[Any, bool] = {}  # key -> complete (False: failed or stopped)
        self._spilled: set[Any] = set()
        self._waiting = 0  # rows held behind the head
        self._closed = False
        self.written_pages = 0
        self.written_rows = 0
        self.spilled_failures: list[Any] = []  # fan-out values that failed after some of their rows were written
        self.unwritten_rows = 0  # prefix: rows fetched after a gap, left out of the file

    # -- workers ------------------------------------------------------------------------------

    def may_start(self, key: Any, stop: threading.Event) -> bool:
        """Wait until the request for ``key`` may be sent (False once ``stop`` is set)."""
        i = self._index[key]
        with self._cond:
            while not stop.is_set():
                if i <= self._head or (i < self._head + self._keys_ahead and self._waiting < self._rows_ahead):
                    return True
                self._cond.wait(0.2)
        return False

    def page(self, key: Any, data: Any, stop: threading.Event | None = None) -> None:
        """A page of ``key``'s request has arrived (waits while too much is unwritten, until ``stop``)."""
        i = self._index[key]
        with self._cond:
            while not self._closed and not (stop is not None and stop.is_set()) and (
                    self._waiting >= self._rows_ahead if i != self._head
                    else self._unwritten.get(key, 0) >= self._head_rows):
                self._wake.set()  # the writer may be what this waits for
                self._cond.wait(0.2)
            if self._closed:
                return
            rows = rows_in(data)
            self._pages.setdefault(key, []).append(data)
            self._unwritten[key] = self._unwritten.get(key, 0) + rows
            if self._index[key] != self._head:
                self._waiting += rows
        self._wake.set()

    def end(self, key: Any, complete: bool, *, failed: bool = False) -> None:
        """``key``'s request is over: ``complete``, else ``failed`` (its own error) or stopped (Ctrl-C, another
        request's error). A failed fan-out value's pages are dropped (it gives no rows), unless some already
        went through; a stopped one's are kept (every row fetched is written)."""
        with self._cond:
            self._ended[key] = complete
            if failed and not self.prefix:
                self._pages.pop(key, None)
                dropped = self._unwritten.pop(key, 0)
                if self._index[key] != self._head:
                    self._waiting -= dropped
                if key in self._spilled:
                    self.spilled_failures.append(key)
            self._cond.notify_all()
        self._wake.set()

    # -- the caller's thread ------------------------------------------------------------------

    def wait(self, timeout: float) -> None:
        """Until a page arrives or a request ends (or ``timeout``)."""
        self._wake.wait(timeout)
        self._wake.clear()

    def drain(self, *, final: bool = False) -> None:
        """Write what may go now; ``final``: the pull is over (or stopped), write what it will ever give."""
        while True:
            with self._cond:
                if self._head >= len(self._keys):
                    return
                key = self._keys[self._head]
                pages = self._pages.get(key) or []
                ended = self._ended.get(key)
                if self.prefix and ended is False and not pages:
                    return  # a gap: nothing after it is written
                passes = (bool(pages) and (self.prefix or final or ended is not None
                                           or self._unwritten.get(key, 0) >= self._hold or key in self._spilled))
                if not passes:
                    if ended is None and not final:
                        return  # the head is still being fetched
                    if final and self.prefix and ended is not True:
                        return  # stopped inside this part: the prefix ends here
                    self._advance()
                    continue
                data = pages[0]
                if ended is None and not final:
                    self._spilled.add(key)
            self._write(key, data)  # outside the lock: the workers go on meanwhile
            with self._cond:
                pages.pop(0)
                rows = rows_in(data)
                if key in self._unwritten:
                    self._unwritten[key] -= rows
                self.written_pages += 1
                self.written_rows += rows
                self._cond.notify_all()

    def _advance(self) -> None:
        """The head is written: the next request becomes the head (its rows no longer wait). Under the lock."""
        self._pages.pop(self._keys[self._head], None)
        self._unwritten.pop(self._keys[self._head], None)
        self._head += 1
        if self._head < len(self._keys):
            self._waiting -= self._unwritten.get(self._keys[self._head], 0)
        self._cond.notify_all()

    def close(self) -> None:
        """The pull is over: later pages are ignored; the rows fetched but not written are counted."""
        with self._cond:
            self._closed = True
            self.unwritten_rows = sum(self._unwritten.values())
            self._cond.notify_all()
