"""Secrets held in this process's memory only, and shown masked wherever they are shown.

Owns: :class:`InMemoryOnly` (objects that refuse pickling and copying, so a token or key never
reaches a file or a pipe), :class:`Secret` (a ``str`` whose repr is masked, so tracebacks that
print locals and containers' reprs never show it) and :func:`mask_secret`. A leaf module: the
token, DPoP and client-authentication modules all hold their secrets this way (RFC 6749 §10.3,
§10.5: tokens and codes are credentials).
"""

from __future__ import annotations

from typing import Any

__all__ = ["InMemoryOnly", "Secret", "mask_secret", "secret"]


class InMemoryOnly:
    """For objects that hold a secret: they never leave the process's memory.

    Pickling them (any protocol, so also ``%store``, joblib, dill, cloudpickle, multiprocessing)
    raises a one-line TypeError instead of writing the secret to a file or a pipe.
    ``copy.copy`` / ``copy.deepcopy`` return the object itself: a copy in memory would hold the
    same secret, and these objects are immutable values or the one live session.
    """

    __slots__ = ()

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError(f"{type(self).__name__} holds a secret: okta_magic keeps tokens and keys in memory only, "
                        "so it cannot be pickled or copied to disk (%store, joblib, dill...); sign in again where "
                        "you need it.")

    def __reduce__(self) -> Any:
        return self.__reduce_ex__(2)

    def __copy__(self) -> Any:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        return self


class Secret(InMemoryOnly, str):
    """A secret string: its text where it is used, its masked form wherever it is shown.

    ``repr`` is masked, so a secret held in a variable, a dict of form fields or a list shows
    masked in a container's repr and in every traceback that prints local variables
    (IPython's ``%xmode Verbose``, pytest ``--showlocals``, rich, ``capture_locals=True``).
    Like every :class:`InMemoryOnly` object it refuses pickling.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(mask_secret(str(self)))


def secret(value: str | None) -> Secret | None:
    """``value`` as a :class:`Secret` (None stays None)."""
    return None if value is None else value if isinstance(value, Secret) else Secret(value)


def mask_secret(secret: str | None) -> str:
    """Show at most the last 4 characters of a secret: ``…a1b2 [masked]``.

    Secrets shorter than 12 characters are masked entirely, since 4 characters
    would be a third of them.
    """
    if not secret:
        return "[none]"
    if len(secret) < 12:
        return "[masked]"
    return f"…{secret[-4:]} [masked]"
