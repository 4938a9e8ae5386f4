"""Compile an NGSI-LD ``q`` expression (:mod:`lingang_twin.core.q`) into a DuckDB SQL condition.

Entities keep their attributes as JSON (``props``: ``{name: {value, unit, observedAt}}``, ``rels``:
``{name: {object}}``), so a term becomes a typed test on a JSON value: a number compares only with a number, a
string with a string, a boolean only with a boolean, a date-time as an instant — the same semantics as the
reference evaluator ``lingang_twin.core.q.evaluate`` (the contract tests check both agree). When the value is a
JSON array the term matches if any element does.

Literals are inlined (never user text as SQL): names are restricted by the grammar to ``[A-Za-z_][A-Za-z0-9_]*``,
strings are quoted with ``'`` doubled, numbers are finite floats.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from typing import Any

from lingang_twin.core.errors import ValidationError
from lingang_twin.core.q import And, Comparison, Expr, Or, Path, Range, ValueList

_NUMERIC = "('BIGINT','UBIGINT','DOUBLE','HUGEINT','INTEGER')"
_COLUMNS = {"id": "e.id", "type": "e.type", "phase": "e.phase"}


def sql_string(text: str) -> str:
    """A DuckDB string literal for ``text``."""
    if "\x00" in text:
        raise ValidationError("q", "string-nul", "strings may not contain NUL characters")
    return "'" + text.replace("'", "''") + "'"


def json_path(path: Path) -> str:
    """The JSON path (inside ``props``) of a q path: ``$."name".value."key"`` or ``$."name".unit`` …"""
    base = f'$."{path.attribute}"'
    if path.sub is not None:
        sub = {"unitCode": "unit", "observedAt": "observedAt", "unit": "unit"}.get(path.sub, path.sub)
        return f'{base}."{sub}"'
    return base + ".value" + "".join(f'."{k}"' for k in path.keys)


def value_json(path: Path, alias: str = "e") -> str:
    """SQL for the JSON value a path names (properties first, then relationship targets)."""
    if path.attribute in _COLUMNS and not path.keys and path.sub is None:
        return f"to_json({alias}.{path.attribute})"
    prop = f"json_extract({alias}.props, {sql_string(json_path(path))})"
    if path.keys or path.sub is not None:
        return prop
    rel_path = '$."' + path.attribute + '".object'
    rel = f"json_extract({alias}.rels, {sql_string(rel_path)})"
    return f"coalesce({prop}, {rel})"


def _literal(v: Any) -> tuple[str, str]:
    """(kind, SQL literal) of a q scalar."""
    if isinstance(v, bool):
        return "bool", "TRUE" if v else "FALSE"
    if isinstance(v, int | float):
        f = float(v)
        if not math.isfinite(f):
            raise ValidationError("q", "finite", f"{v} is not a finite number")
        return "number", repr(f)
    if isinstance(v, datetime):
        return "datetime", f"TIMESTAMPTZ {sql_string(v.astimezone(UTC).isoformat())}"
    if isinstance(v, date):
        return "date", f"DATE {sql_string(v.isoformat())}"
    if isinstance(v, str):
        return "string", sql_string(v)
    raise ValidationError("q", "value-type", f"unsupported value {v!r}")


def _scalar_test(j: str, op: str, v: Any) -> str:
    # CASE, not AND: SQL does not promise to short-circuit, and a cast of the wrong kind would raise.
    kind, lit = _literal(v)
    if kind == "number":
        return f"(CASE WHEN json_type({j}) IN {_NUMERIC} THEN TRY_CAST({j} AS DOUBLE) {op} {lit} ELSE FALSE END)"
    if kind == "bool":
        if op not in ("=", "<>"):
            return "FALSE"
        return f"(CASE WHEN json_type({j}) = 'BOOLEAN' THEN TRY_CAST({j} AS BOOLEAN) {op} {lit} ELSE FALSE END)"
    if kind == "string":
        return f"(CASE WHEN json_type({j}) = 'VARCHAR' THEN ({j} ->> '$') {op} {lit} ELSE FALSE END)"
    cast = "TIMESTAMPTZ" if kind == "datetime" else "DATE"
    return (f"(CASE WHEN json_type({j}) = 'VARCHAR' THEN TRY_CAST({j} ->> '$' AS {cast}) {op} {lit} "
            "ELSE FALSE END)")


def _positive(j: str, op: str, v: Any) -> str:
    """A test of a scalar JSON value for ``==`` (scalar, range or list), ``~=`` or an ordering."""
    if op == "~=":
        return (f"(CASE WHEN json_type({j}) = 'VARCHAR' THEN regexp_matches({j} ->> '$', {sql_string(str(v))}) "
                "ELSE FALSE END)")
    if op == "==" and isinstance(v, Range):
        return f"({_scalar_test(j, '>=', v.low)} AND {_scalar_test(j, '<=', v.high)})"
    if op == "==" and isinstance(v, ValueList):
        return "(" + " OR ".join(_scalar_test(j, "=", x) for x in v.values) + ")"
    sql_op = {"==": "=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}[op]
    return _scalar_test(j, sql_op, v)


def _any(j: str, op: str, v: Any) -> str:
    # Arrays: a term holds when any element satisfies it (NGSI-LD multi-valued semantics).
    elem = _positive("x", op, v)
    return (f"(CASE WHEN json_type({j}) = 'ARRAY' THEN "
            f"len(list_filter(CAST(json_extract({j}, '$[*]') AS JSON[]), lambda x: coalesce({elem}, FALSE))) > 0 "
            f"ELSE coalesce({_positive(j, op, v)}, FALSE) END)")


def _comparison(c: Comparison, alias: str) -> str:
    j = value_json(c.path, alias)
    # A JSON null counts as absent, as in the reference evaluator: it matches nothing but never raises.
    present = f"({j} IS NOT NULL AND json_type({j}) <> 'NULL')"
    if c.op == "exists":
        return present
    if c.op == "absent":
        return f"(NOT {present})"
    if c.op in ("!=", "!~="):
        # != is the negation of == for a present value: for a list, no element equals.
        return f"({present} AND NOT {_any(j, c.op[1:] if c.op == '!~=' else '==', c.value)})"
    return f"({present} AND {_any(j, c.op, c.value)})"


def compile_q(expr: Expr, alias: str = "e") -> str:
    """A SQL boolean expression over the entity row ``alias`` equivalent to ``expr``."""
    if isinstance(expr, Comparison):
        return _comparison(expr, alias)
    if isinstance(expr, And):
        return "(" + " AND ".join(compile_q(t, alias) for t in expr.terms) + ")"
    if isinstance(expr, Or):
        return "(" + " OR ".join(compile_q(t, alias) for t in expr.terms) + ")"
    raise ValidationError("q", "q-node", f"unsupported q node {type(expr).__name__}")
