"""How a ``%okta`` line is read: the options written before or after the request, and their values.

The request keeps its quotes and spaces exactly (argparse would eat them); options outside double
quotes at the end of the line are options too, never part of the request sent: a known one is used,
an unknown one (``--bogus``) is named as unknown, with the magic's options (:func:`unrecognized`).
"""

from __future__ import annotations

import argparse
import difflib
import functools
import math
import re
from collections.abc import Callable
from typing import Any

__all__ = ["bound", "value_options", "flag_options", "split_options", "unquote", "in_flight", "at_least_one", "seconds",
           "lifetime", "unrecognized"]

_MAX_TIMEOUT = 86_400.0  # seconds: a day per response is already more than any org takes

_OPTION_WORD = re.compile(r"--?[A-Za-z]")  # what reads as an option: -x, --name (not -1, not a lone --)


def value_options(parser: argparse.ArgumentParser) -> frozenset[str]:
    """The options of a magic that take a value (``--to PATH``), as its ``@argument`` declarations say."""
    return frozenset(option for action in parser._actions if action.nargs != 0 for option in action.option_strings)


def flag_options(parser: argparse.ArgumentParser) -> frozenset[str]:
    """The options of a magic that take none (``--raw``), as its ``@argument`` declarations say."""
    return frozenset(option for action in parser._actions if action.nargs == 0 for option in action.option_strings)


def _whole(text: str, low: int, high: int | None, what: str) -> int:
    """A whole-number option value in ``[low, high]``, or argparse's one-line error saying what to give."""
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if value < low or high is not None and value > high:
        raise argparse.ArgumentTypeError(f"give {what}, not {text!r}")
    return value


def in_flight(text: str) -> int:
    """``--concurrency`` / ``--parallel``: requests in flight, 1 to Okta's 75 per org."""
    return _whole(text, 1, 75, "the requests in flight, a whole number from 1 to 75 (Okta's limit per org), e.g. 8")


def at_least_one(text: str) -> int:
    """``--max-pages`` / ``--max-rows``: a whole number of at least 1."""
    return _whole(text, 1, None, "a whole number of at least 1 (e.g. 500)")


def lifetime(text: str) -> int:
    """``--token-lifetime``: whole seconds, at least 1."""
    return _whole(text, 1, None, "an access token's lifetime in whole seconds, e.g. 120")


def seconds(text: str) -> float:
    """``--timeout``: seconds, more than 0 and at most a day."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value <= _MAX_TIMEOUT:  # also refuses nan
        raise argparse.ArgumentTypeError(f"give the seconds to wait for each response, more than 0 and at most "
                                         f"{_MAX_TIMEOUT:.0f} (e.g. 60), not {text!r}")
    return value


def unquote(value: str | None) -> str | None:
    """Drop one pair of surrounding quotes (IPython's argument splitter keeps them)."""
    if value and len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def split_options(line: str, parser: argparse.ArgumentParser) -> tuple[str, str]:
    """Split ``-o var --max-pages 2 GET /path?q="a b" --raw`` into the options and the raw request.

    Options come first; the first other word starts the request, which keeps its quotes and
    spaces exactly (argparse would eat them) and is checked by the request parser, so a
    mistyped method gets that parser's message. Known options outside double quotes at the
    end of the line are options too, never part of the request sent. ``parser`` is the magic's own: which of
    its options take a value is read from it.
    """
    values, flags = value_options(parser), flag_options(parser)
    words = _words(line, quotes="'\"")
    i = 0
    while i < len(words) and line[words[i][0]:words[i][1]].startswith("-"):
        i += 2 if line[words[i][0]:words[i][1]] in values else 1
    if i >= len(words):
        return line, ""
    start = words[i][0]
    request = line[start:]
    tail = _trailing_options(request, values, flags)
    return line[:start] + " " + request[tail:], request[:tail].rstrip()


def _trailing_options(request: str, values: frozenset[str], flags: frozenset[str]) -> int:
    """Where the options written after the request begin (``len(request)`` when there are none).

    A word that reads as an option but is none of the magic's (``--bogus``, perhaps with a value after it) is
    taken too, for argparse to name as unknown: left in the request it would read as a path with a space.
    """
    spans = _words(request, quotes='"')
    words = [request[a:b] for a, b in spans]
    i = len(words)
    while i > 1:  # the request's first word is never an option
        word = words[i - 1]
        if _OPTION_WORD.match(word):  # known, --max-rows=5, or unknown
            i -= 1  # (a value option with its value missing is left to argparse to explain)
        elif i > 2 and (words[i - 2] in values or _unknown_option(words[i - 2], values, flags)):
            i -= 2
        else:
            break
    return spans[i][0] if i < len(words) else len(request)


def _unknown_option(word: str, values: frozenset[str], flags: frozenset[str]) -> bool:
    return bool(_OPTION_WORD.match(word)) and word not in flags and word.split("=", 1)[0] not in values


def unrecognized(parser: argparse.ArgumentParser, message: str) -> str | None:
    """argparse's ``unrecognized arguments: ...`` as one line naming the unknown option (and a close known one)
    with the magic's options; None for any other message."""
    prefix = "unrecognized arguments: "
    if not message.startswith(prefix):
        return None
    words = message[len(prefix):].split()
    actions = [action for action in parser._actions if action.option_strings]  # (argparse's list of its options)
    listing = ", ".join("/".join(action.option_strings) for action in actions)
    unknown = [word.split("=", 1)[0] for word in words if _OPTION_WORD.match(word)]
    if unknown:
        known = [option for action in actions for option in action.option_strings if option.startswith("--")]
        close = difflib.get_close_matches(unknown[0], known, n=1, cutoff=0.8)
        what = f"Unknown option {', '.join(unknown)}" + (f" (did you mean {close[0]}?)" if close else "")
    else:
        what = f"Unexpected {' '.join(words)[:60]!r}"
    return f"{what}: %{parser.prog} takes {listing}."


def _words(text: str, *, quotes: str) -> list[tuple[int, int]]:
    """The (start, end) of each whitespace-separated word; whitespace inside ``quotes`` does not split.

    When a quote is left open, every whitespace splits (as the request parser treats ``&``).
    """
    spans: list[tuple[int, int]] = []
    start: int | None = None
    quote: str | None = None
    for i, ch in enumerate(text):
        if quote is not None:
            if ch == quote:
                quote = None
        elif ch.isspace():
            if start is not None:
                spans.append((start, i))
                start = None
            continue
        elif ch in quotes:
            quote = ch
        if start is None:
            start = i
    if start is not None:
        spans.append((start, len(text)))
    if quote is not None:
        return [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    return spans


def bound(function: Callable[..., Any], magics: Any) -> Callable[..., Any]:
    """``function(magics, line[, cell])`` as a magic of the extension's ``magics``: its docstring is ``%name?``."""
    def magic(*args: Any) -> Any:
        return function(magics, *args)

    return functools.update_wrapper(magic, function)
