"""Okta's SCIM-like ``search`` and ``filter`` expressions: parse once, evaluate against JSON objects.

Grammar (RFC 7644 §3.4.2.2 subset, as Okta documents it for ``/api/v1/users``):
``attrPath op "value"``, ``attrPath pr``, ``and``, ``or``, ``not``, parentheses.
Operators: eq, sw, co, gt, ge, lt, le, pr (no ``ne``, like Okta). Attribute names are
case-sensitive; operators and values are case-insensitive. Which attribute may use
which operator is up to the caller (``allow``), because ``search`` and ``filter``
differ (Okta: "co works only on firstName, lastName, email and login").
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Predicate = Callable[[dict[str, Any]], bool]
OPERATORS = ("eq", "sw", "co", "gt", "ge", "lt", "le", "pr")
# RFC 7644 §3.4.2.2 and Okta's docs set no nesting limit; the parser recurses once per "(" or "not",
# so a bound keeps a hostile expression an invalid search (400 E0000031) rather than a RecursionError.
MAX_DEPTH = 100

_TOKEN = re.compile(r'\s*(?:(\()|(\))|"((?:[^"\\]|\\.)*)"|([^\s()"]+))')


class SearchError(ValueError):
    """The expression is not valid (Okta answers 400 E0000031 "Invalid search criteria.")."""


@dataclass(frozen=True)
class Span:
    """The values a single-valued attribute can hold in any object an expression matches, as the comparisons
    read them (text lowercased): from ``low`` to ``high`` (None: no bound), each end included unless open.

    Derived from the comparisons with a text value (``created ge "2024-01-01"``): ``and`` meets the spans of
    its operands, ``or`` joins them (an operand without one leaves the attribute unbounded), ``not`` drops
    them. A store may use a span to look at fewer objects; the predicate still decides.
    """

    low: str | None = None
    low_open: bool = False
    high: str | None = None
    high_open: bool = False

    def meet(self, other: Span) -> Span:
        """The values within both spans."""
        low, low_open = _tighter(self.low, self.low_open, other.low, other.low_open, max)
        high, high_open = _tighter(self.high, self.high_open, other.high, other.high_open, min)
        return Span(low, low_open, high, high_open)

    def join(self, other: Span) -> Span:
        """The smallest span holding both spans."""
        low, low_open = _looser(self.low, self.low_open, other.low, other.low_open, min)
        high, high_open = _looser(self.high, self.high_open, other.high, other.high_open, max)
        return Span(low, low_open, high, high_open)


def _tighter(a: str | None, a_open: bool, b: str | None, b_open: bool,
             pick: Callable[[str, str], str]) -> tuple[str | None, bool]:
    if a is None or b is None:
        return (b, b_open) if a is None else (a, a_open)
    if a == b:
        return a, a_open or b_open
    return (a, a_open) if pick(a, b) == a else (b, b_open)


def _looser(a: str | None, a_open: bool, b: str | None, b_open: bool,
            pick: Callable[[str, str], str]) -> tuple[str | None, bool]:
    if a is None or b is None:
        return None, False
    if a == b:
        return a, a_open and b_open
    return (a, a_open) if pick(a, b) == a else (b, b_open)


Spans = dict[str, Span]
_Node = tuple[Predicate, Spans]  # a parsed (sub)expression: its predicate and the spans it implies
_SPAN_OF = {"eq": lambda w: Span(w, False, w, False), "gt": lambda w: Span(low=w, low_open=True),
            "ge": lambda w: Span(low=w), "lt": lambda w: Span(high=w, high_open=True), "le": lambda w: Span(high=w)}
_ORDER = {"gt": operator.gt, "ge": operator.ge, "lt": operator.lt, "le": operator.le}


class _Tok:
    __slots__ = ("kind", "text")

    def __init__(self, kind: str, text: str) -> None:
        self.kind = kind  # "(" ")" "str" "word"
        self.text = text


def _tokenize(text: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise SearchError(f"Unexpected character at position {pos}.")
        if m.group(1):
            tokens.append(_Tok("(", "("))
        elif m.group(2):
            tokens.append(_Tok(")", ")"))
        elif m.group(3) is not None:
            tokens.append(_Tok("str", re.sub(r"\\(.)", r"\1", m.group(3))))
        else:
            tokens.append(_Tok("word", m.group(4)))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return tokens


def _getter(path: str) -> Callable[[dict[str, Any]], Any]:
    """A dotted-path reader; through a list (e.g. System Log ``target.id``) it yields every element's value."""
    parts = path.split(".")
    if len(parts) == 1:
        key = parts[0]
        return lambda obj: obj.get(key)

    def get_n(obj: dict[str, Any]) -> Any:
        cur: Any = obj
        for part in parts:
            if isinstance(cur, dict):
                cur = cur.get(part)
            elif isinstance(cur, list):
                cur = [item.get(part) for item in cur if isinstance(item, dict)]
            else:
                return None
        return cur

    return get_n


def _literal(tok: _Tok) -> Any:
    if tok.kind == "str":
        return tok.text
    word = tok.text.lower()
    if word == "true":
        return True
    if word == "false":
        return False
    if word == "null":
        return None
    try:
        return int(tok.text)
    except ValueError:
        try:
            return float(tok.text)
        except ValueError:
            raise SearchError(f"Invalid value {tok.text!r}: quote string values.") from None


def _norm(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _compare(op: str, actual: Any, wanted: Any) -> bool:
    if actual is None:
        return wanted is None and op == "eq"
    if isinstance(actual, list):
        return any(_compare(op, item, wanted) for item in actual)
    if isinstance(actual, bool) or isinstance(wanted, bool):
        if op != "eq":
            return False
        if isinstance(wanted, str):
            return str(actual).lower() == wanted
        return bool(actual == wanted)
    a: Any
    w: Any
    if isinstance(actual, str):
        a = actual.lower()
        w = wanted if isinstance(wanted, str) else str(wanted).lower()
    elif isinstance(actual, (int, float)) and isinstance(wanted, (int, float)):
        a, w = actual, wanted
    else:
        a, w = str(actual).lower(), str(wanted).lower()
    if op == "eq":
        return bool(a == w)
    if op == "sw":
        return isinstance(a, str) and a.startswith(str(w))
    if op == "co":
        return isinstance(a, str) and str(w) in a
    try:
        if op == "gt":
            return bool(a > w)
        if op == "ge":
            return bool(a >= w)
        if op == "lt":
            return bool(a < w)
        if op == "le":
            return bool(a <= w)
    except TypeError:
        return False
    raise SearchError(f"Unknown operator {op!r}.")


def _any_of(parts: list[Predicate]) -> Predicate:
    """True when one of ``parts`` is (in order, stopping at the first); a loop, not ``any()`` over a generator,
    since a search runs it for every user of the org."""
    def any_of(obj: dict[str, Any]) -> bool:
        for part in parts:
            if part(obj):
                return True
        return False
    return any_of


def _all_of(parts: list[Predicate]) -> Predicate:
    """True when every one of ``parts`` is (in order, stopping at the first that is not)."""
    def all_of(obj: dict[str, Any]) -> bool:
        for part in parts:
            if not part(obj):
                return False
        return True
    return all_of


class _Parser:
    """Recursive descent over the tokens: or binds loosest, then and, then not and parentheses."""

    def __init__(self, tokens: list[_Tok], allow: Callable[[str, str], bool]) -> None:
        self.tokens = tokens
        self.i = 0
        self.allow = allow
        self.depth = 0

    def peek_word(self) -> str | None:
        if self.i < len(self.tokens) and self.tokens[self.i].kind == "word":
            return self.tokens[self.i].text.lower()
        return None

    def next(self) -> _Tok:
        if self.i >= len(self.tokens):
            raise SearchError("The expression ended too early.")
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def parse(self) -> _Node:
        node = self.parse_or()
        if self.i != len(self.tokens):
            raise SearchError(f"Unexpected {self.tokens[self.i].text!r}.")
        return node

    def parse_or(self) -> _Node:
        nodes = [self.parse_and()]
        while self.peek_word() == "or":
            self.i += 1
            nodes.append(self.parse_and())
        if len(nodes) == 1:
            return nodes[0]
        parts = [pred for pred, _ in nodes]
        spans = {attr: span for attr, span in nodes[0][1].items() if all(attr in n[1] for n in nodes)}
        for _, more in nodes[1:]:
            spans = {attr: span.join(more[attr]) for attr, span in spans.items()}
        return _any_of(parts), spans

    def parse_and(self) -> _Node:
        nodes = [self.parse_unary()]
        while self.peek_word() == "and":
            self.i += 1
            nodes.append(self.parse_unary())
        if len(nodes) == 1:
            return nodes[0]
        parts = [pred for pred, _ in nodes]
        spans: Spans = {}
        for _, more in nodes:
            for attr, span in more.items():
                spans[attr] = spans[attr].meet(span) if attr in spans else span
        return _all_of(parts), spans

    def descend(self) -> None:
        """Count one more level of "(" or "not"; refuse an expression nested deeper than ``MAX_DEPTH``."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise SearchError(f"The expression nests parentheses or 'not' more than {MAX_DEPTH} levels deep.")

    def parse_unary(self) -> _Node:
        """A parenthesised expression, ``not`` and its operand, or one ``attrPath op value`` comparison."""
        tok = self.next()
        if tok.kind == "(":
            self.descend()
            inner = self.parse_or()
            if self.next().kind != ")":
                raise SearchError("Missing ')'.")
            self.depth -= 1
            return inner
        if tok.kind == "word" and tok.text.lower() == "not":
            if not self.allow("", "not"):
                raise SearchError("'not' is not supported here.")
            self.descend()
            negated, _ = self.parse_unary()
            self.depth -= 1
            return (lambda obj: not negated(obj)), {}
        return self.comparison(tok)

    def comparison(self, tok: _Tok) -> _Node:
        """``attrPath op value`` (or ``attrPath pr``): its predicate, and its span when the value is text."""
        if tok.kind != "word":
            raise SearchError(f"Expected an attribute name, found {tok.text!r}.")
        attr = tok.text
        op_tok = self.next()
        op = op_tok.text.lower()
        if op_tok.kind != "word" or op not in OPERATORS:
            raise SearchError(f"Unknown operator {op_tok.text!r}.")
        if not self.allow(attr, op):
            raise SearchError(f"Operator {op!r} is not supported for {attr!r}.")
        get = _getter(attr)
        if op == "pr":
            return (lambda obj: get(obj) is not None), {}
        wanted = _norm(_literal(self.next()))
        if not isinstance(wanted, str) or op not in _SPAN_OF:
            return (lambda obj: _compare(op, get(obj), wanted)), {}
        if op == "eq":

            def eq(obj: dict[str, Any]) -> bool:
                actual = get(obj)
                if isinstance(actual, str):
                    return actual.lower() == wanted
                return _compare("eq", actual, wanted)

            return eq, {attr: _SPAN_OF[op](wanted)}
        order = _ORDER[op]

        def ordered(obj: dict[str, Any]) -> bool:
            actual = get(obj)
            if isinstance(actual, str):  # what _compare does with two texts, without its type tests
                return bool(order(actual.lower(), wanted))
            return _compare(op, actual, wanted)

        return ordered, {attr: _SPAN_OF[op](wanted)}


def compile_search(text: str, allow: Callable[[str, str], bool] | None = None) -> tuple[Predicate, Spans]:
    """A search/filter expression's predicate and the :class:`Span` each attribute it bounds must lie in;
    ``allow(attr, op)`` rejects what the endpoint refuses."""
    if not text or not text.strip():
        raise SearchError("The expression is empty.")
    return _Parser(_tokenize(text), allow or (lambda attr, op: True)).parse()


def compile_expression(text: str, allow: Callable[[str, str], bool] | None = None) -> Predicate:
    """A predicate for a search/filter expression; ``allow(attr, op)`` rejects what the endpoint refuses."""
    return compile_search(text, allow)[0]


# Okta: ``co`` only on these four profile attributes.
CONTAINS_ATTRIBUTES = frozenset({"profile.firstName", "profile.lastName", "profile.email", "profile.login"})
# Okta: ``filter`` on /api/v1/users only on these, ``eq`` only except lastUpdated.
USER_FILTER_ATTRIBUTES = frozenset(
    {"status", "lastUpdated", "id", "profile.login", "profile.email", "profile.firstName", "profile.lastName"}
)


def allow_user_search(attr: str, op: str) -> bool:
    """The rules of ``/api/v1/users?search=``."""
    if op == "co":
        return attr in CONTAINS_ATTRIBUTES
    return True


def allow_user_filter(attr: str, op: str) -> bool:
    """The rules of ``/api/v1/users?filter=``."""
    if op == "not":
        return False
    if attr not in USER_FILTER_ATTRIBUTES:
        return False
    if attr == "lastUpdated":
        return op in ("eq", "gt", "ge", "lt", "le")
    return op == "eq"


def allow_group_filter(attr: str, op: str) -> bool:
    """The rules of ``/api/v1/groups?filter=`` (type, id, timestamps)."""
    if op == "not":
        return False
    if attr in ("lastUpdated", "lastMembershipUpdated", "created"):
        return op in ("eq", "gt", "ge", "lt", "le")
    return attr in ("type", "id") and op == "eq"


def allow_log_filter(attr: str, op: str) -> bool:
    """System Log ``filter``: any attribute but ``published`` (Okta refuses it), eq/sw/co/pr and ranges."""
    if attr == "published":
        raise SearchError("Filter expressions can't use 'published'; use the since and until parameters.")
    return True
