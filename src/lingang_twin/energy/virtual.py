"""Virtual meters (虚拟表) and unmetered loss (未计量损耗).

A virtual meter is a formula over other meters::

    urn:ngsi-ld:Meter:a + urn:ngsi-ld:Meter:b - 0.5 * urn:ngsi-ld:Meter:c
    @lab-elec-main - @lab-elec-hvac          -- "@local-id" is short for urn:ngsi-ld:Meter:<local-id>

Grammar (the real one is :data:`_GRAMMAR`, parsed with lark's LALR parser, like ``q``)::

    expr   := term (("+" | "-") term)*
    term   := factor (("*" | "/") factor)*
    factor := NUMBER | meter | "(" expr ")" | "-" factor
    meter  := urn:ngsi-ld:<Type>:<local-id> | @<local-id>

A meter reference runs over every character an entity id may hold (letters, digits and ``. _ ~ : + = @ -``), so
**write spaces around ``+`` and ``-``**: ``@a+@b`` is read as the one id ``a+@b`` and fails as an unknown meter,
never as a silent sum. ``@x`` resolves to ``urn:ngsi-ld:Meter:x``, or, when no such meter exists, to
``urn:ngsi-ld:VirtualMeter:x``.

Evaluation (:func:`evaluate_virtual`) asks the store for each input meter's bucketed consumption (interval
registers → ``sum``, cumulative registers → ``delta``), turns it into the carrier's canonical unit
(:mod:`.carriers`) and aligns the inputs on their buckets. Decisions:

* **Missing data is reported, never zero.** A bucket that some input has and another lacks gets ``value`` NULL
  and ``missing`` = the number of inputs without a reading in it. Buckets in which no input has a reading are
  not listed. A division by zero also gives NULL (with ``missing`` 0).
* **One carrier per formula.** Inputs of different carriers raise ValidationError (rule ``carrier-mixed``);
  inputs of one carrier in different units (Wh and kWh) are converted to the canonical unit, which is the unit
  of the result.
* **Virtual meters as entities** (optional): :func:`register_virtual_meter_type` registers ``VirtualMeter``
  (property ``formula``, optional ``carrier``). A formula may refer to other virtual meters; they are expanded
  and a formula that reaches itself, directly or through others, raises ValidationError (rule
  ``formula-cycle``, or ``formula-self-reference`` for the direct case).

:func:`unmetered_loss` = a main meter minus the sum of its ``submeterOf`` children, per bucket and in total, as
an absolute figure and as a share of the main, flagged above :data:`LOSS_THRESHOLDS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pyarrow as pa
from lark import Lark, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from lingang_twin.core.calendar import instant_at
from lingang_twin.core.errors import NotFoundError, ValidationError
from lingang_twin.core.findings import Finding
from lingang_twin.core.ids import parse_entity_id
from lingang_twin.core.meters import meter_consumption
from lingang_twin.core.types import OpenProperties
from lingang_twin.energy.carriers import canonical_unit, to_canonical_scale
from lingang_twin.energy.factors import EnergyConfig

if TYPE_CHECKING:
    from lingang_twin.core.model import Entity
    from lingang_twin.core.twin import Twin

# ------------------------------------------------------------------------------------------------ grammar

_GRAMMAR: Final = r"""
start: expr

?expr: term
     | expr ADD term      -> binop
     | expr SUB term      -> binop
?term: factor
     | term MUL factor    -> binop
     | term DIV factor    -> binop
?factor: NUMBER           -> number
       | METER            -> meter
       | LOCAL            -> local
       | SUB factor       -> neg
       | _LPAR expr _RPAR

METER.2: /urn:ngsi-ld:[A-Z][A-Za-z0-9]*:[A-Za-z0-9][A-Za-z0-9._~:+=@-]*/
LOCAL: /@[A-Za-z0-9][A-Za-z0-9._~:+=@-]*/
NUMBER: /\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/
ADD: "+"
SUB: "-"
MUL: "*"
DIV: "/"
_LPAR: "("
_RPAR: ")"

%ignore /\s+/
"""


@dataclass(frozen=True)
class Num:
    value: float


@dataclass(frozen=True)
class Ref:
    """A meter reference as written: a full id, or ``@local`` (``local=True``)."""

    name: str
    local: bool
    position: int


@dataclass(frozen=True)
class Neg:
    operand: Node


@dataclass(frozen=True)
class BinOp:
    op: str
    left: Node
    right: Node


Node = Num | Ref | Neg | BinOp


class _Builder(Transformer[Any, Node]):
    def start(self, items: list[Node]) -> Node:
        return items[0]

    def number(self, items: list[Any]) -> Node:
        return Num(float(items[0]))

    def meter(self, items: list[Any]) -> Node:
        return Ref(str(items[0]), False, items[0].start_pos or 0)

    def local(self, items: list[Any]) -> Node:
        return Ref(str(items[0])[1:], True, items[0].start_pos or 0)

    def neg(self, items: list[Any]) -> Node:
        return Neg(items[1])

    def binop(self, items: list[Any]) -> Node:
        return BinOp(str(items[1]), items[0], items[2])


class FormulaSyntaxError(ValidationError):
    """A formula that does not parse (rule ``formula-syntax``); ``position`` is the 0-based character offset."""

    def __init__(self, formula: str, position: int, expected: str, field: str = "formula") -> None:
        self.formula = formula
        self.position = position
        self.expected = expected
        super().__init__(field, "formula-syntax", f"cannot parse the formula at position {position}: {expected} / "
                         f"公式在第 {position} 个字符处无法解析\n{formula}\n{' ' * position}^", value=formula)


@cache
def _parser() -> Lark:
    return Lark(_GRAMMAR, parser="lalr", lexer="contextual", transformer=_Builder(), maybe_placeholders=False)


def parse_formula(text: str, field: str = "formula") -> Node:
    """Parse a formula into its tree; anything else raises :class:`FormulaSyntaxError` (rule ``formula-syntax``) whose
    ``position`` is the 0-based offset of the problem and whose ``field`` is ``field``."""
    if not isinstance(text, str) or not text.strip():
        raise FormulaSyntaxError(text if isinstance(text, str) else "", 0, "a meter id, @local-id or number "
                               "(the formula is empty)", field=field)
    try:
        return _parser().parse(text)  # type: ignore[return-value]
    except UnexpectedInput as err:
        if isinstance(err, UnexpectedToken):
            position = len(text) if err.token.type == "$END" else (err.token.start_pos or 0)
        elif isinstance(err, UnexpectedEOF):
            position = len(text)
        elif isinstance(err, UnexpectedCharacters):
            position = err.pos_in_stream or 0
        else:  # pragma: no cover
            position = 0
        position = max(0, min(position, len(text)))
        expected = ("a meter id, @local-id, number or '(' (the formula ends too early)" if position >= len(text)
                    else "a meter id (urn:ngsi-ld:Meter:…), @local-id, number, operator + - * / or parenthesis")
        raise FormulaSyntaxError(text, position, expected, field=field) from None


def references(node: Node) -> list[Ref]:
    """The meter references of a formula, in reading order."""
    if isinstance(node, Ref):
        return [node]
    if isinstance(node, Neg):
        return references(node.operand)
    if isinstance(node, BinOp):
        return references(node.left) + references(node.right)
    return []


# ------------------------------------------------------------------------------------------- VirtualMeter


class VirtualMeterProperties(OpenProperties):
    """A virtual meter: ``formula`` over other meters (see the module docs); ``carrier`` is informative."""

    formula: str
    name: str | None = None
    carrier: str | None = None


def register_virtual_meter_type(twin: Twin) -> None:
    """Register the ``VirtualMeter`` type on ``twin`` (idempotent). Formulas are checked when evaluated, not
    when stored (the referenced meters may arrive later)."""
    if "VirtualMeter" not in twin.types:
        twin.register_type("VirtualMeter", VirtualMeterProperties, label=("虚拟表", "Virtual meter"),
                           classification={"*": ("internal", "a formula over the district's meters: the energy "
                                                 "managers' working data, as the meters it combines")})


# ------------------------------------------------------------------------------------------- resolution


@dataclass
class _Input:
    meter: Entity
    scale: float
    cumulative: bool


@dataclass
class Resolved:
    """A formula with every reference resolved to a physical meter: ``tree`` (virtual meters expanded, ``Ref``
    names are full meter ids), the ``meters`` used, their ``carrier`` and the result ``unit``."""

    tree: Node
    meters: list[str]
    carrier: str
    unit: str
    inputs: dict[str, _Input] = field(repr=False, default_factory=dict)


def _lookup(twin: Twin, ref: Ref, field_name: str) -> Entity:
    candidates = [f"urn:ngsi-ld:Meter:{ref.name}", f"urn:ngsi-ld:VirtualMeter:{ref.name}"] if ref.local else [
        ref.name]
    for cid in candidates:
        try:
            parse_entity_id(cid, field_name)
            entity = twin.get(cid)
        except (NotFoundError, ValidationError):
            continue
        if entity.type in ("Meter", "VirtualMeter"):
            return entity
    shown = "@" + ref.name if ref.local else ref.name
    raise ValidationError(field_name, "meter-unknown", f"{shown} (at position {ref.position}) is not a Meter or "
                          f"VirtualMeter / 公式引用的计量表 {shown} 不存在", value=shown)


def resolve_formula(twin: Twin, formula: str, *, self_id: str | None = None, field_name: str = "formula",
                    config: EnergyConfig | None = None) -> Resolved:
    """Parse ``formula`` and resolve its references (expanding virtual meters).

    ``self_id`` is the virtual meter the formula belongs to, if any. Raises ValidationError naming
    ``field_name``: ``formula-syntax`` (parse error, with position), ``meter-unknown``, ``formula-self-reference``,
    ``formula-cycle``, ``carrier-mixed``, and the unit rules of :func:`.carriers.to_canonical_scale`.
    """
    inputs: dict[str, _Input] = {}

    def expand(node: Node, stack: tuple[str, ...]) -> Node:
        if isinstance(node, Num):
            return node
        if isinstance(node, Neg):
            return Neg(expand(node.operand, stack))
        if isinstance(node, BinOp):
            return BinOp(node.op, expand(node.left, stack), expand(node.right, stack))
        entity = _lookup(twin, node, field_name)
        if entity.id in stack:
            if len(stack) == 1:
                raise ValidationError(field_name, "formula-self-reference",
                                      f"the formula of {entity.id} refers to itself / 公式引用了自身", value=formula)
            path = " → ".join((*stack[stack.index(entity.id):], entity.id))
            raise ValidationError(field_name, "formula-cycle",
                                  f"virtual meters refer to each other in a cycle: {path} / 虚拟表公式循环引用",
                                  value=formula)
        if entity.type == "VirtualMeter":
            text = entity.value("formula")
            sub = parse_formula(text, f"{field_name}({entity.id}).formula")
            return expand(sub, (*stack, entity.id))
        if entity.id not in inputs:
            carrier, unit = entity.value("carrier"), entity.value("unit")
            try:
                scale = to_canonical_scale(carrier, unit, config)
            except ValidationError as err:
                raise ValidationError(field_name, err.rule, f"meter {entity.id}: {err.message}",
                                      value=err.value) from None
            inputs[entity.id] = _Input(entity, scale, entity.value("register") == "cumulative")
        return Ref(entity.id, False, node.position)

    tree = expand(parse_formula(formula, field_name), (self_id,) if self_id else ())
    carriers = sorted({i.meter.value("carrier") for i in inputs.values()})
    if len(carriers) > 1:
        listed = ", ".join(f"{m} ({i.meter.value('carrier')}, {i.meter.value('unit')})" for m, i in inputs.items())
        raise ValidationError(field_name, "carrier-mixed",
                              f"a formula adds one carrier only; it mixes {listed} / 公式不可混用能源品种",
                              value=formula)
    if not carriers:
        raise ValidationError(field_name, "formula-no-meter", "a formula refers to at least one meter / "
                              "公式至少引用一个计量表", value=formula)
    return Resolved(tree, list(inputs), carriers[0], canonical_unit(carriers[0]), inputs)


# ------------------------------------------------------------------------------------------- evaluation


def _bucketed(twin: Twin, inputs: dict[str, _Input], start: datetime, end: datetime,
              bucket: str) -> dict[str, dict[Any, float]]:
    """Per meter: bucket → consumption in the canonical unit (one store aggregate per meter)."""
    out: dict[str, dict[Any, float]] = {}
    for mid, inp in inputs.items():
        got = meter_consumption(twin, [inp.meter], start, end, bucket=bucket, under=mid, scales={mid: inp.scale})
        out[mid] = {instant_at(int(b)): float(v) for b, v in zip(got.bucket_us, got.value, strict=True)
                    if not np.isnan(v)}
    return out


def _evaluate(node: Node, columns: dict[str, np.ndarray]) -> np.ndarray | float:
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Ref):
        return columns[node.name]
    if isinstance(node, Neg):
        return -_evaluate(node.operand, columns)
    left, right = _evaluate(node.left, columns), _evaluate(node.right, columns)
    if node.op == "+":
        return left + right
    if node.op == "-":
        return left - right
    if node.op == "*":
        return left * right
    return np.divide(left, right)


def _table(resolved: Resolved, data: dict[str, dict[Any, float]]) -> pa.Table:
    keys = sorted(set().union(*(d.keys() for d in data.values()))) if data else []
    columns = {m: np.array([data[m].get(k, np.nan) for k in keys], dtype=np.float64) for m in resolved.meters}
    missing = np.zeros(len(keys), dtype=np.int64)
    for col in columns.values():
        missing += np.isnan(col)
    with np.errstate(divide="ignore", invalid="ignore"):
        values = np.broadcast_to(np.asarray(_evaluate(resolved.tree, columns), dtype=np.float64), (len(keys),))
    valid = np.isfinite(values) & (missing == 0)
    return pa.table({
        "bucket": pa.array(keys, type=pa.timestamp("us", tz="Asia/Shanghai")) if keys else pa.array(
            [], type=pa.timestamp("us", tz="Asia/Shanghai")),
        "value": pa.array(np.where(valid, values, 0.0), mask=~valid, type=pa.float64()),
        "missing": pa.array(missing, type=pa.int64()),
    }, metadata={"unit": resolved.unit, "carrier": resolved.carrier})


def evaluate_virtual(twin: Twin, formula: str, start: datetime, end: datetime, bucket: str = "hour", *,
                     self_id: str | None = None, config: EnergyConfig | None = None) -> pa.Table:
    """Evaluate ``formula`` per ``bucket`` over ``[start, end)`` (period-closing readings: ``(start, end]``).

    Columns ``bucket`` (start, Asia/Shanghai), ``value`` (in the carrier's canonical unit, NULL when an input has
    no reading in the bucket or a division by zero), ``missing`` (inputs without a reading in the bucket).
    Schema metadata: ``unit`` and ``carrier``. Raises ValidationError as :func:`resolve_formula` does, and for
    bad ``bucket``/``start``/``end``.
    """
    resolved = resolve_formula(twin, formula, self_id=self_id, config=config)
    return _table(resolved, _bucketed(twin, resolved.inputs, start, end, bucket))


def evaluate_virtual_meter(twin: Twin, virtual_meter_id: str, start: datetime, end: datetime,
                           bucket: str = "hour", *, config: EnergyConfig | None = None) -> pa.Table:
    """Evaluate a stored ``VirtualMeter`` (its ``formula``; cycles through other virtual meters are refused)."""
    entity = twin.get(virtual_meter_id)
    if entity.type != "VirtualMeter":
        raise ValidationError("virtual_meter_id", "type-mismatch", f"{virtual_meter_id} is a {entity.type}, not a "
                              "VirtualMeter / 不是虚拟表", value=virtual_meter_id)
    return evaluate_virtual(twin, entity.value("formula"), start, end, bucket, self_id=entity.id, config=config)


# ------------------------------------------------------------------------------------------- unmetered loss

LOSS_THRESHOLDS: Final[dict[str, float]] = {
    "electricity": 0.05,
    "water": 0.10,
    "natural_gas": 0.03,
    "heat": 0.10,
    "diesel": 0.02,
    "gasoline": 0.02,
    "hydrogen": 0.02,
}
"""Share of the main meter above which unmetered loss is flagged, by carrier. **Operating defaults of this pack,
not a standard's limits** (water: the 10 % basic leakage-rate target of CJJ 92-2016 for supply networks;
the others: typical in-building line loss and metering tolerance). Override with ``threshold=``."""


@dataclass
class LossReport:
    """Unmetered loss of ``main`` over a period: ``table`` per bucket (``bucket``, ``main``, ``submetered``,
    ``loss``, ``share``, ``flagged``, ``missing``) and the totals over the buckets where every meter reported."""

    main: str
    submeters: list[str]
    carrier: str
    unit: str
    threshold: float
    table: pa.Table
    main_total: float
    submetered_total: float
    bucket: str = "day"

    @property
    def loss(self) -> float:
        """Main minus the sum of the sub-meters, over the complete buckets [unit]."""
        return self.main_total - self.submetered_total

    @property
    def share(self) -> float | None:
        """Loss as a share of the main (None when the main read zero)."""
        return self.loss / self.main_total if self.main_total else None

    @property
    def flagged(self) -> bool:
        """Whether the share exceeds the threshold."""
        return self.share is not None and self.share > self.threshold

    def findings(self) -> list[Finding]:
        """One ``unmetered_loss`` finding per run of flagged buckets, for
        :func:`lingang_twin.core.findings.raise_alerts` (the loss becomes an Alert on the main meter, routed like
        every data-quality finding)."""
        rows = self.table.to_pylist()
        out: list[Finding] = []
        k = 0
        while k < len(rows):
            if not rows[k]["flagged"]:
                k += 1
                continue
            j = k
            while j + 1 < len(rows) and rows[j + 1]["flagged"]:
                j += 1
            run = rows[k:j + 1]
            main = sum(r["main"] for r in run)
            loss = sum(r["loss"] for r in run)
            share = loss / main if main else None
            start, end = run[0]["bucket"], _bucket_end(run[-1]["bucket"], self.bucket)
            pct = f"{share:.1%}" if share is not None else "—"
            out.append(Finding(
                "unmetered_loss", self.main, start, end, "high" if share is not None and share > 2 * self.threshold
                else "medium",
                f"未计量损耗 {loss:,.2f} {self.unit}（占总表 {pct}，阈值 {self.threshold:.0%}）",
                f"unmetered loss {loss:,.2f} {self.unit} ({pct} of the main meter, threshold {self.threshold:.0%})",
                {"loss": loss, "main": main, "share": share, "threshold": self.threshold, "unit": self.unit,
                 "submeters": list(self.submeters), "buckets": len(run)}))
            k = j + 1
        return out


def _bucket_end(start: datetime, bucket: str) -> datetime:
    """The end of the Shanghai calendar bucket starting at ``start``."""
    fixed = {"15min": timedelta(minutes=15), "hour": timedelta(hours=1), "day": timedelta(days=1),
             "week": timedelta(days=7)}
    if bucket in fixed:
        return start + fixed[bucket]
    if bucket == "month":
        return start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
    return start.replace(year=start.year + 1)


def unmetered_loss(twin: Twin, main_meter_id: str, start: datetime, end: datetime, bucket: str = "day", *,
                   threshold: float | None = None, config: EnergyConfig | None = None) -> LossReport:
    """Main meter minus the sum of its direct ``submeterOf`` children per ``bucket`` over ``[start, end)``.

    ``share`` = loss / main (NULL when main is 0 or a meter lacks the bucket); ``flagged`` when ``share`` >
    ``threshold`` (default: :data:`LOSS_THRESHOLDS` of the carrier). A meter without sub-meters raises
    ValidationError (rule ``no-submeters``); sub-meters of another carrier raise ``carrier-mixed``.
    """
    main = twin.get(main_meter_id)
    if main.type != "Meter":
        raise ValidationError("main_meter_id", "type-mismatch", f"{main_meter_id} is a {main.type}, not a Meter",
                              value=main_meter_id)
    subs = [e.id for e in twin.query_all(types=("Meter",), related=("submeterOf", main.id))]
    if not subs:
        raise ValidationError("main_meter_id", "no-submeters", f"{main_meter_id} has no submeterOf children / "
                              "该表没有子表", value=main_meter_id)
    formula = " - ".join([main.id, *subs])
    resolved = resolve_formula(twin, formula, field_name="main_meter_id", config=config)
    limit = LOSS_THRESHOLDS.get(resolved.carrier, 0.05) if threshold is None else float(threshold)
    data = _bucketed(twin, resolved.inputs, start, end, bucket)
    result = _table(resolved, data)
    keys = result["bucket"].to_pylist()
    main_col = np.array([data[main.id].get(k, np.nan) for k in keys], dtype=np.float64)
    loss = result["value"].to_numpy(zero_copy_only=False).astype(np.float64)
    ok = ~np.isnan(loss)
    sub_col = main_col - loss
    with np.errstate(divide="ignore", invalid="ignore"):
        share = loss / main_col
    share_ok = ok & np.isfinite(share)
    table = pa.table({
        "bucket": result["bucket"],
        "main": pa.array(np.nan_to_num(main_col), mask=np.isnan(main_col)),
        "submetered": pa.array(np.where(ok, sub_col, 0.0), mask=~ok),
        "loss": result["value"],
        "share": pa.array(np.where(share_ok, share, 0.0), mask=~share_ok),
        "flagged": pa.array(np.where(share_ok, share > limit, False), mask=~share_ok),
        "missing": result["missing"],
    }, metadata={"unit": resolved.unit, "carrier": resolved.carrier, "threshold": str(limit)})
    return LossReport(main.id, subs, resolved.carrier, resolved.unit, limit, table,
                      float(np.sum(main_col[ok])), float(np.sum(sub_col[ok])), bucket)


__all__ = ["LOSS_THRESHOLDS", "FormulaSyntaxError", "LossReport", "Resolved", "VirtualMeterProperties",
           "evaluate_virtual", "evaluate_virtual_meter", "parse_formula", "references", "register_virtual_meter_type",
           "resolve_formula", "unmetered_loss"]
