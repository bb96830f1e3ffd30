"""A part of a pull's file on its way to disk, and the words for a write the disk refused.

:class:`Output` takes a part's bytes (from a Parquet writer or a text stream): they go to the part's
file until the disk refuses a write (full: ENOSPC; past a file size limit: EFBIG; no permission),
and from then on to memory, so that the writer above never sees a failed write and ends its file
properly; the part is then read back whole (its format's ``read_part``) for the rows it holds, and removed.
:func:`write_failure` says in one line what the disk refused and names what to do.
"""

from __future__ import annotations

import errno
import io
from pathlib import Path
from typing import Any

from okta_magic.errors import FileWriteError

__all__ = ["BUFFER", "Output", "write_failure", "copy_into"]

BUFFER = 1 << 16  # bytes gathered before each write to a part

# errno -> (what happened, the advice key of what to do): the causes a person can act on.
_CAUSES = {
    errno.ENOSPC: ("the disk is full", "free_space"),
    getattr(errno, "EDQUOT", errno.ENOSPC): ("the disk quota is used up", "free_space"),
    errno.EFBIG: ("file too large (it reached the largest file size allowed here)", "file_size_limit"),
    errno.EACCES: ("no permission to write there", "write_elsewhere"),
    errno.EPERM: ("no permission to write there", "write_elsewhere"),
    errno.EROFS: ("the disk is read-only", "write_elsewhere"),
}


def write_failure(what: str, cause: BaseException, kept: str) -> FileWriteError:
    """``what`` failed because of ``cause`` (an OSError says which: disk full, file too large, permission), in one
    line, with ``kept`` (what is still as it was) and the advice key of what to do."""
    if isinstance(cause, OSError) and cause.errno in _CAUSES:
        words, fix = _CAUSES[cause.errno]
        reason = words if "too large" in words else f"{words} ({cause.strerror})"
    elif isinstance(cause, OSError):
        reason, fix = cause.strerror or str(cause) or type(cause).__name__, "write_elsewhere"
    else:
        reason, fix = f"{type(cause).__name__}: {cause}", "write_elsewhere"
    error = FileWriteError(" ".join(f"{what}: {reason}; {kept}.".split()))  # one line
    error.with_fix(fix)
    return error


class Output(io.RawIOBase):
    """A part's bytes: to its file until the disk refuses a write, from then on (``keep``) to memory.

    Nothing above it ever sees a failed write, so a Parquet writer ends its file properly and the part can
    be read back whole (its file's bytes, then the ones in memory); ``error`` says what the disk refused.
    """

    def __init__(self, path: Path, *, keep: bool = True) -> None:
        super().__init__()
        self.path = path
        self.keep = keep
        self.error: OSError | None = None
        self.on_disk = 0
        self._rest = bytearray()
        self._dropped = 0
        self._file = open(path, "wb", buffering=0)  # noqa: SIM115 - closed by close()

    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.on_disk + len(self._rest) + self._dropped

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        size = len(view)
        if self.error is None:
            done = 0
            try:
                while done < size:
                    done += self._file.write(view[done:]) or 0
            except OSError as exc:  # disk full (ENOSPC), a file size limit (EFBIG), ...
                self.error = exc
            self.on_disk += done
            if self.error is None:
                return size
            view = view[done:]
        if self.keep:
            self._rest += view
        else:
            self._dropped += len(view)
        return size

    def close(self) -> None:
        if not self.closed:
            try:
                if hasattr(self, "_file"):  # (not when the file could not be made)
                    self._file.close()
            except OSError as exc:  # some file systems report a refused write only now
                self.error = self.error or exc
            super().close()

    def contents(self, start: int = 0) -> bytes:
        """The part's bytes from ``start``: what reached the file, then what was kept in memory."""
        with open(self.path, "rb") as f:
            f.seek(start)
            head = f.read(max(self.on_disk - start, 0))
        return head + bytes(self._rest[max(start - self.on_disk, 0):])


def copy_into(source: Path, out: Output) -> None:
    """Copy ``source`` into ``out``, stopping at the first write the disk refuses (its OSError)."""
    with open(source, "rb") as f:
        while chunk := f.read(BUFFER):
            out.write(chunk)
            if out.error is not None:
                raise out.error
