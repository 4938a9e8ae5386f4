"""The NGSI-LD ``q`` query language (ETSI GS CIM 009 §4.9): parser, canonical printer and reference evaluator.

A ``q`` expression filters entities by their attribute values::

    floorArea>=1000;(category=="office"|category=="lab");address[district]=="临港";openedAt.observedAt<2024-05-01T08:00:00+08:00

Grammar (informal; the real one is :data:`_GRAMMAR`, parsed with lark's LALR parser)::

    query      := or_expr
    or_expr    := and_expr ("|" and_expr)*          -- "|" is OR
    and_expr   := atom (";" atom)*                  -- ";" is AND; it binds tighter than "|"
    atom       := term | "(" or_expr ")"
    term       := path                              -- the attribute exists
                | "!" path                          -- the attribute is absent (NGSI-LD 1.6+)
                | path op value_spec
    path       := NAME ("[" NAME "]")*              -- compound value:  address[city][district]
                | NAME "." NAME                     -- sub-attribute:   temperature.observedAt
    op         := "==" | "!=" | "<" | "<=" | ">" | ">=" | "~=" | "!~="
    value_spec := value | value ".." value | value ("," value)+
    value      := "double-quoted string" | 42 | -1.5 | 2e3 | true | false
                | 2024-05-01 | 2024-05-01T08:00:00Z | 2024-05-01T08:00:00+08:00

Rules the grammar alone does not express, checked while parsing:

* ranges ``low..high`` (inclusive) and lists ``a,b,c`` only after ``==`` and ``!=``; range ends are of the
  same kind (numbers, strings, dates or date-times) and ``low <= high``;
* ``<``, ``<=``, ``>``, ``>=`` take one number, string, date or date-time (booleans have no order);
* ``~=`` and ``!~=`` take one double-quoted Python regular expression that must compile;
* a date-time must carry a time zone (``Z`` or ``±HH:MM``); a bare word such as ``abc`` is refused because
  strings must be double-quoted;
* a path has ``[keys]`` or one ``.sub``-attribute, not both (their combination has no agreed meaning).

Inside a string ``\\"`` is a quote and ``\\\\`` a backslash; any other backslash is kept as written, so
regular expressions such as ``"\\d+"`` need no doubling. Whitespace between tokens is ignored.

Every failure is a :class:`~lingang_twin.core.errors.QuerySyntaxError` carrying the 0-based character
offset of the problem and a short phrase saying what was expected there.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any, Final, TypeAlias, cast

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from lingang_twin.core.errors import QuerySyntaxError
from lingang_twin.core.observations import check_text

__all__ = [
    "MISSING",
    "And",
    "Comparison",
    "Expr",
    "Or",
    "Path",
    "Range",
    "Scalar",
    "ValueList",
    "evaluate",
    "parse_q",
    "to_text",
]

Scalar: TypeAlias = str | int | float | bool | datetime | date

OPERATORS: Final = frozenset({"==", "!=", "<", "<=", ">", ">=", "~=", "!~=", "exists", "absent"})
_EQUALITY_OPS: Final = frozenset({"==", "!="})
_ORDER_OPS: Final = frozenset({"<", "<=", ">", ">="})
_PATTERN_OPS: Final = frozenset({"~=", "!~="})
_NAME_RE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


# --------------------------------------------------------------------------------------------- the AST


@dataclass(frozen=True)
class Path:
    """What a term looks at: an attribute, optionally a key path into its value or one sub-attribute."""

    attribute: str
    keys: tuple[str, ...] = ()
    sub: str | None = None


@dataclass(frozen=True)
class Range:
    """``low..high``, inclusive at both ends; both ends are of the same kind."""

    low: Scalar
    high: Scalar


@dataclass(frozen=True)
class ValueList:
    """``a,b,c``: the term matches when the value equals any of them."""

    values: tuple[Scalar, ...]


@dataclass(frozen=True)
class Comparison:
    """One term. ``value`` is ``None`` exactly when ``op`` is ``"exists"`` (the attribute named alone) or
    ``"absent"`` (``!attribute``)."""

    path: Path
    op: str
    value: Scalar | Range | ValueList | None


@dataclass(frozen=True)
class And:
    """All terms hold (``;``)."""

    terms: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    """At least one term holds (``|``)."""

    terms: tuple[Expr, ...]


Expr: TypeAlias = Comparison | And | Or


class _Missing:
    """Type of :data:`MISSING`; one instance only."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __reduce__(self) -> str:  # pickling must keep the singleton, or `is MISSING` breaks in workers
        return "MISSING"


MISSING: Final = _Missing()
"""What the lookup given to :func:`evaluate` returns for an absent attribute, key or sub-attribute."""


# --------------------------------------------------------------------------------------------- grammar

# Terminal priorities matter: in a value position "2024-05-01T08:00:00Z", "2024-05-01" and "2024" could all
# start the same text, and lark tries terminals in priority order, so the longest shape must win.
# NUMBER never swallows a trailing "." so that "1..5" lexes as NUMBER DOTDOT NUMBER.
# Booleans are NAMEs in value position and are told apart from bare words by the transformer; that keeps
# "true"/"false" usable as attribute names and lets bare words get their own error message.
_GRAMMAR: Final = r"""
start: or_expr

?or_expr: and_expr (_OR and_expr)*
?and_expr: atom (_AND atom)*
?atom: comparison
     | _BANG path           -> absent
     | _LPAR or_expr _RPAR  -> group

comparison: path (OP value_spec)?

path: NAME path_part*
?path_part: LSQB NAME _RSQB  -> key
          | DOT NAME         -> sub

value_spec: value                      -> single
          | value DOTDOT value         -> range
          | value (COMMA value)+       -> vlist

value: STRING | NUMBER | DATE | DATETIME | NAME

OP: "==" | "!=" | "<=" | ">=" | "<" | ">" | "~=" | "!~="
NAME: /[A-Za-z_][A-Za-z0-9_]*/
STRING: /"(?:[^"\\]|\\[\s\S])*"/
DATETIME.3: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?/
DATE.2: /\d{4}-\d{2}-\d{2}/
NUMBER: /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/
DOTDOT: ".."
COMMA: ","
DOT: "."
_AND: ";"
_BANG: "!"
_OR: "|"
_LPAR: "("
_RPAR: ")"
LSQB: "["
_RSQB: "]"

%ignore /\s+/
"""

_TZ_SUFFIX: Final = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$")
_ESCAPE: Final = re.compile(r"\\([\s\S])")


class _Problem(Exception):
    """A semantic error found while building the AST; :func:`parse_q` turns it into a QuerySyntaxError."""

    def __init__(self, position: int, expected: str) -> None:
        super().__init__(position, expected)
        self.position = position
        self.expected = expected


@dataclass(frozen=True)
class _Val:
    """A parsed value plus where it sits in the text, so later checks can point at it."""

    value: Scalar
    start: int
    end: int


@dataclass(frozen=True)
class _Spec:
    """A parsed value_spec: one value, a range or a list; ``at`` is where ``..`` or the first ``,`` is."""

    kind: str  # "single", "range" or "list"
    values: tuple[_Val, ...]
    at: int


def _unescape(body: str) -> str:
    # Only \" and \\ are escapes; other backslashes stay so that regular expressions read naturally.
    return _ESCAPE.sub(lambda m: m.group(1) if m.group(1) in '"\\' else m.group(0), body)


def _kind(value: object) -> str | None:
    """The comparison family of a value; values of different kinds never compare equal or ordered."""
    if isinstance(value, bool):  # before numbers: bool is an int subclass, but true must not equal 1
        return "bool"
    if isinstance(value, numbers.Real):
        return "number"
    if isinstance(value, datetime):  # before date: datetime is a date subclass
        return "datetime"
    if isinstance(value, date):
        return "date"
    if isinstance(value, str):
        return "str"
    return None


class _Builder(Transformer[Token, Expr]):
    """Turns parse-tree nodes into AST nodes as the LALR parser reduces them (no tree, no recursion)."""

    def start(self, children: list[Expr]) -> Expr:
        return children[0]

    def or_expr(self, children: list[Expr]) -> Expr:
        return Or(tuple(children))

    def and_expr(self, children: list[Expr]) -> Expr:
        return And(tuple(children))

    def group(self, children: list[Expr]) -> Expr:
        return children[0]

    def key(self, children: list[Token]) -> tuple[str, Token, Token]:
        return ("key", children[1], children[0])

    def sub(self, children: list[Token]) -> tuple[str, Token, Token]:
        return ("sub", children[1], children[0])

    def path(self, children: list[Any]) -> tuple[Path, int]:
        name: Token = children[0]
        keys: list[str] = []
        sub: Token | None = None
        for part, tok, opener in children[1:]:
            start = _start(opener)  # point at the "[" or "." that opens the offending part
            if sub is not None:
                raise _Problem(start, "an operator (a path ends after its .sub-attribute)")
            if part == "sub":
                if keys:
                    raise _Problem(start, "an operator (a path has [keys] or a .sub-attribute, not both)")
                sub = tok
            else:
                keys.append(str(tok))
        return Path(str(name), tuple(keys), None if sub is None else str(sub)), _start(name)

    def value(self, children: list[Token]) -> _Val:
        tok = children[0]
        start = _start(tok)
        end = start + len(tok)
        return _Val(_scalar(tok, start, end), start, end)

    def single(self, children: list[_Val]) -> _Spec:
        return _Spec("single", (children[0],), children[0].start)

    def range(self, children: list[Any]) -> _Spec:
        low, dots, high = children
        return _Spec("range", (low, high), _start(dots))

    def vlist(self, children: list[Any]) -> _Spec:
        return _Spec("list", tuple(c for c in children if isinstance(c, _Val)), _start(children[1]))

    def absent(self, children: list[Any]) -> Comparison:
        path, _ = children[0]
        return Comparison(path, "absent", None)

    def comparison(self, children: list[Any]) -> Comparison:
        path, _ = children[0]
        if len(children) == 1:
            return Comparison(path, "exists", None)
        op = str(children[1])
        spec: _Spec = children[2]
        first = spec.values[0]
        if spec.kind != "single" and op not in _EQUALITY_OPS:
            raise _Problem(spec.at, "a single value: ranges a..b and lists a,b,c go only after == or !=")
        if op in _PATTERN_OPS:
            return Comparison(path, op, _pattern(first))
        if op in _ORDER_OPS and _kind(first.value) not in ("number", "str", "date", "datetime"):
            raise _Problem(first.start, "a number, string, date or date-time (booleans cannot be ordered)")
        if spec.kind == "range":
            return Comparison(path, op, _range(spec))
        if spec.kind == "list":
            return Comparison(path, op, ValueList(tuple(v.value for v in spec.values)))
        return Comparison(path, op, first.value)


def _start(tok: Token) -> int:
    return tok.start_pos if tok.start_pos is not None else 0


def _scalar(tok: Token, start: int, end: int) -> Scalar:
    text = str(tok)
    if tok.type == "STRING":
        return _unescape(text[1:-1])
    if tok.type == "NAME":
        if text in ("true", "false"):
            return text == "true"
        raise _Problem(start, 'a value: strings must be double-quoted, e.g. "' + text + '"')
    if tok.type == "NUMBER":
        if not any(c in text for c in ".eE"):
            return int(text)
        number = float(text)
        if not math.isfinite(number):
            raise _Problem(start, "a finite number")
        return number
    if tok.type == "DATE":
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise _Problem(start, "a valid calendar date YYYY-MM-DD") from None
    # DATETIME
    if not _TZ_SUFFIX.search(text):
        raise _Problem(end, "a time zone such as Z or +08:00 (a time zone is required)")
    try:
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
        moment.astimezone(UTC)  # reject instants that cannot be compared with others (year 1 / 9999)
    except (ValueError, OverflowError):
        raise _Problem(start, "a valid date-time such as 2024-05-01T08:00:00+08:00") from None
    return moment


def _pattern(val: _Val) -> str:
    if not isinstance(val.value, str):
        raise _Problem(val.start, 'a regular expression in double quotes, e.g. "^临港"')
    try:
        re.compile(val.value)
    except (re.error, OverflowError, RecursionError, ValueError) as err:
        raise _Problem(val.start, f"a valid regular expression ({err})") from None
    return val.value


def _range(spec: _Spec) -> Range:
    low, high = spec.values
    kind = _kind(low.value)
    if kind == "bool":
        raise _Problem(low.start, "a number, string, date or date-time (booleans have no order)")
    if _kind(high.value) != kind:
        raise _Problem(high.start, f"a range end of the same kind as its start ({kind})")
    if low.value > high.value:  # type: ignore[operator]  # same orderable kind, checked above
        raise _Problem(low.start, "a range whose low end is not greater than its high end")
    return Range(low.value, high.value)


@cache
def _parser() -> Lark:
    # Built on first use: compiling the grammar costs tens of milliseconds that imports should not pay.
    # The transformer is stateless, so one instance can serve every thread.
    return Lark(_GRAMMAR, parser="lalr", lexer="contextual", transformer=_Builder(), maybe_placeholders=False)


# --------------------------------------------------------------------------------------------- parsing


def parse_q(text: str, field: str = "q") -> Expr:
    """Parse a ``q`` expression into its AST.

    ``field`` names the request field in the error (``q``, or e.g. ``subscription.q``).

    >>> parse_q('a==1|b==2;c==3')  # doctest: +ELLIPSIS
    Or(terms=(Comparison(path=Path(attribute='a', ...), op='==', value=1), And(terms=(...))))

    Raises :class:`QuerySyntaxError` (position = 0-based offset of the problem) for anything that is not a
    valid expression, including the empty string.
    """
    if not isinstance(text, str):
        raise TypeError(f"q must be a str, not {type(text).__name__}")
    if not text.strip():
        raise QuerySyntaxError(text, 0, 'a query term such as name=="value" (q is empty)', field=field)
    # The same rule as for property values, so a value that can be stored can be asked for (tab and line breaks
    # are whitespace between tokens here; inside a string they match stored text that holds them).
    check_text(text, field, allow_layout=True)
    try:
        result = cast(Expr, _parser().parse(text))
    except _Problem as problem:
        raise QuerySyntaxError(text, problem.position, problem.expected, field=field) from None
    except UnexpectedInput as err:
        position, expected = _describe(err, text)
        raise QuerySyntaxError(text, position, expected, field=field) from None
    return result


_VALUE_TERMINALS: Final = frozenset({"STRING", "NUMBER", "DATE", "DATETIME"})


def _describe(err: UnexpectedInput, text: str) -> tuple[int, str]:
    """Where a lark error happened and, in words, what would have been acceptable there."""
    position: int
    allowed: set[str]
    if isinstance(err, UnexpectedCharacters):
        position = err.pos_in_stream or 0
        allowed = set(err.allowed or ())
    elif isinstance(err, UnexpectedToken):
        # lark gives $END the position of the last real token; the problem is the end of the text.
        position = len(text) if err.token.type == "$END" else (err.token.start_pos or 0)
        allowed = set(err.expected or ())
    elif isinstance(err, UnexpectedEOF):
        position = len(text)
        allowed = set(err.expected or ())
    else:  # pragma: no cover - lark has no other UnexpectedInput subclasses today
        position = err.pos_in_stream if isinstance(err.pos_in_stream, int) else 0
        allowed = set()
    position = max(0, min(position, len(text)))
    at_end = not text[position:].strip()

    if position < len(text) and text[position] == '"' and isinstance(err, UnexpectedCharacters):
        return position, "a closing double quote for the string that starts here"
    if allowed & _VALUE_TERMINALS:
        return position, "a value"
    if "OP" in allowed:
        return position, "an operator such as == or <"
    if "_LPAR" in allowed:
        return position, "an attribute name or an opening parenthesis"
    if allowed == {"NAME"}:
        before = text[:position].rstrip()[-1:]
        if before == "[":
            return position, "a key name inside [ ]"
        if before == ".":
            return position, "a sub-attribute name after ."
        return position, "an attribute name"
    if "_RSQB" in allowed:
        return position, "a closing bracket ]"
    # LALR merges states, so ")" and the end of text can both look acceptable; the nesting depth decides.
    if _depth(text, position) > 0:
        return position, "a closing parenthesis" if at_end else "; (and), | (or) or a closing parenthesis"
    if allowed & {"_RPAR", "$END", "_AND", "_OR"}:
        return position, "; (and), | (or) or the end of the query"
    return position, "a valid q expression"


def _depth(text: str, position: int) -> int:
    """How many parentheses are open at ``position`` (strings skipped); the text before it lexed fine."""
    depth = 0
    in_string = escaped = False
    for char in text[:position]:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
    return depth


# --------------------------------------------------------------------------------------------- printing


def to_text(expr: Expr) -> str:
    """The canonical text of ``expr``: no whitespace, minimal parentheses; ``parse_q`` reads it back equal.

    Parentheses are kept where the AST nests an ``And`` in an ``And`` or an ``Or`` in an ``Or`` (the parser
    keeps such user-written groups rather than flattening them), so the round trip is exact.

    Raises ``ValueError`` for ASTs that ``parse_q`` could never produce and that have no text form: And/Or
    with fewer than two terms, lists with fewer than two values, names that are not identifiers, naive or
    sub-minute-offset date-times, non-finite floats, unknown operators.
    """
    if isinstance(expr, Comparison):
        return _comparison_text(expr)
    if isinstance(expr, And | Or):
        if len(expr.terms) < 2:
            raise ValueError(f"{type(expr).__name__} needs at least two terms to have a text form")
        inner = Or if isinstance(expr, Or) else (And, Or)
        parts = [f"({to_text(t)})" if isinstance(t, inner) else to_text(t) for t in expr.terms]
        return ("|" if isinstance(expr, Or) else ";").join(parts)
    raise ValueError(f"not a q expression: {expr!r}")


def _comparison_text(comp: Comparison) -> str:
    path = _path_text(comp.path)
    if comp.op in ("exists", "absent"):
        if comp.value is not None:
            raise ValueError(f"an {comp.op!r} comparison has no value")
        return path if comp.op == "exists" else f"!{path}"
    if comp.op not in OPERATORS:
        raise ValueError(f"unknown operator {comp.op!r}")
    value = comp.value
    if isinstance(value, Range):
        if comp.op not in _EQUALITY_OPS:
            raise ValueError("ranges are allowed only after == or !=")
        return f"{path}{comp.op}{_scalar_text(value.low)}..{_scalar_text(value.high)}"
    if isinstance(value, ValueList):
        if comp.op not in _EQUALITY_OPS:
            raise ValueError("lists are allowed only after == or !=")
        if len(value.values) < 2:
            raise ValueError("a ValueList needs at least two values to have a text form")
        return f"{path}{comp.op}" + ",".join(_scalar_text(v) for v in value.values)
    if value is None:
        raise ValueError(f"operator {comp.op} needs a value")
    return f"{path}{comp.op}{_scalar_text(value)}"


def _path_text(path: Path) -> str:
    for name in (path.attribute, *path.keys, *([path.sub] if path.sub is not None else [])):
        if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
            raise ValueError(f"not a valid q name: {name!r}")
    if path.keys and path.sub is not None:
        raise ValueError("a path has [keys] or a .sub-attribute, not both")
    keys = "".join(f"[{k}]" for k in path.keys)
    return path.attribute + keys + (f".{path.sub}" if path.sub is not None else "")


def _scalar_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return repr(int(value))  # int() so IntEnum and friends print as digits
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"q has no text for {value!r}")
        return repr(float(value))  # repr always has "." or "e", so it reads back as a float
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, datetime):
        offset = value.utcoffset()
        if offset is None:
            raise ValueError("q date-times need a time zone")
        if offset % timedelta(minutes=1):
            raise ValueError("q time-zone offsets are whole minutes")
        text = value.isoformat()
        return text[: -len("+00:00")] + "Z" if not offset else text
    if isinstance(value, date):
        return value.isoformat()
    raise ValueError(f"q has no text for {type(value).__name__} values")


# --------------------------------------------------------------------------------------------- evaluation


def evaluate(expr: Expr, lookup: Callable[[Path], Any]) -> bool:
    """Decide whether an entity matches ``expr``; ``lookup(path)`` returns the entity's value or MISSING.

    This is the reference semantics that the SQL compiler is tested against:

    * a missing attribute (MISSING, or ``None``, which SQL cannot tell apart from missing) fails every
      comparison, ``!=`` and ``!~=`` included; only ``exists`` looks at presence;
    * ``==`` with a Range means ``low <= v <= high``, with a ValueList ``v`` in the list;
    * values of different kinds (string vs number, bool vs number, date vs date-time) are never equal and
      never ordered; no comparison raises; numbers compare as numbers (``1 == 1.0``), ``true`` never equals 1;
    * date-times compare as instants (a naive date-time from ``lookup`` is taken as UTC), dates as dates;
    * ``~=`` is :func:`re.search` on strings;
    * if the value is a list, ``==``, ``<``, ``~=`` … hold when any element satisfies them;
    * ``!=`` and ``!~=`` are the negation of ``==`` and ``~=`` for a present value, so for a list value
      they hold when no element equals / matches.
    """
    if isinstance(expr, And):
        return all(evaluate(t, lookup) for t in expr.terms)
    if isinstance(expr, Or):
        return any(evaluate(t, lookup) for t in expr.terms)
    value = lookup(expr.path)
    present = value is not MISSING and value is not None
    if expr.op == "exists":
        return present
    if expr.op == "absent":
        return not present
    if not present:
        return False
    if expr.op == "!=":
        return not _holds(value, "==", expr.value)
    if expr.op == "!~=":
        return not _holds(value, "~=", expr.value)
    return _holds(value, expr.op, expr.value)


def _holds(value: object, op: str, query: object) -> bool:
    if isinstance(value, list | tuple):
        return any(_holds(v, op, query) for v in value)
    if op == "~=":
        return isinstance(value, str) and isinstance(query, str) and re.search(query, value) is not None
    if isinstance(query, Range):
        return _compare(query.low, "<=", value) and _compare(value, "<=", query.high)
    if isinstance(query, ValueList):
        return any(_compare(value, "==", q) for q in query.values)
    return _compare(value, op, query)


def _compare(left: object, op: str, right: object) -> bool:
    kind = _kind(left)
    if kind is None or kind != _kind(right):
        return False
    if kind == "bool" and op != "==":
        return False
    a, b = (_instant(left), _instant(right)) if kind == "datetime" else (left, right)
    try:
        if op == "==":
            return bool(a == b)
        if op == "<":
            return bool(a < b)  # type: ignore[operator]
        if op == "<=":
            return bool(a <= b)  # type: ignore[operator]
        if op == ">":
            return bool(a > b)  # type: ignore[operator]
        if op == ">=":
            return bool(a >= b)  # type: ignore[operator]
    except (TypeError, OverflowError):  # exotic number types or far-edge instants: not comparable
        return False
    return False


def _instant(moment: Any) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
