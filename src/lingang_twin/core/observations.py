"""Observations: the time series of everything measured in the district.

An observation is ``(entity id, attribute, observed_at, value)`` with an optional ``unit``. Batches are columnar
(:class:`ObservationBatch`, an Arrow table) so a million readings are checked with vectorised operations, not a
Python loop: non-finite values, timestamps without a time zone, malformed ids and unknown units are refused with
the index of the first offending reading, before anything is written.

Timestamps are stored as UTC epoch microseconds; calendars (buckets) are Asia/Shanghai (UTC+8, no DST).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lingang_twin.core.errors import ValidationError
from lingang_twin.core.ids import parse_entity_id
from lingang_twin.core.units import check_unit

ATTRIBUTE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
BATCH_SCHEMA = pa.schema(
    [
        ("entity_id", pa.string()),
        ("attribute", pa.string()),
        ("ts", pa.int64()),  # UTC epoch microseconds
        ("value", pa.float64()),
        ("unit", pa.string()),
    ]
)
OnConflict = Literal["reject", "replace", "keep"]
_FIELDS = ("entity_id", "attribute", "observed_at", "value")

# The instants the platform accepts anywhere (readings, property times, phase dates, as-of dates, query bounds):
# [1900-01-01T00:00Z, 2200-01-01T00:00Z). Wide enough for any building's history and any plan or forecast, and far
# from the edges where a value stops being representable (year 1 and 9999 overflow Python's datetime once shifted
# to +08:00, and year 10000 has no ISO 8601 form), so nothing stored can make a later read fail.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
EARLIEST_US = -2_208_988_800 * 1_000_000
LATEST_US = 7_258_118_400 * 1_000_000
_RANGE_TEXT = "1900-01-01T00:00:00Z ≤ t < 2200-01-01T00:00:00Z"
# C0 control characters and DEL. Tab, line feed and carriage return are text (a multi-line description), so
# property values keep them; names, ids and query expressions refuse them too (see ``check_text``).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_ANY = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Observation:
    """One reading. ``observed_at`` must be time-zone aware; ``unit`` defaults to the attribute's unit."""

    entity_id: str
    attribute: str
    observed_at: datetime
    value: float
    unit: str | None = None


@dataclass(frozen=True)
class IngestResult:
    """What an append did: ``inserted`` new readings, ``duplicates`` identical resends skipped, ``replaced``
    readings overwritten (only with ``on_conflict="replace"``), ``kept`` differing readings left as stored
    (only with ``on_conflict="keep"``)."""

    received: int
    inserted: int
    duplicates: int
    replaced: int = 0
    kept: int = 0


def check_instant(value: datetime, field: str, index: int | None = None) -> datetime:
    """Return ``value`` if it lies in the accepted range (:data:`EARLIEST` ≤ t < :data:`LATEST`), else raise
    ValidationError (rule ``instant-range``) naming ``field``. ``value`` must be time-zone aware."""
    try:
        inside = EARLIEST <= value < LATEST
    except (OverflowError, TypeError):  # an aware year-1 instant east of UTC cannot even be compared
        inside = False
    if not inside:
        raise ValidationError(field, "instant-range",
                              f"{value.isoformat()} is outside {_RANGE_TEXT} / 时间超出允许范围 (1900–2200)",
                              value=value.isoformat(), index=index)
    return value


def check_date(value: date, field: str) -> date:
    """Return calendar date ``value`` if 1900-01-01 ≤ value < 2200-01-01, else raise ValidationError
    (rule ``date-range``) naming ``field``."""
    if not date(1900, 1, 1) <= value < date(2200, 1, 1):
        raise ValidationError(field, "date-range",
                              f"{value.isoformat()} is outside 1900-01-01 … 2199-12-31 / 日期超出允许范围 (1900–2200)",
                              value=value.isoformat())
    return value


def check_micros_range(ts: pa.Array, field: str = "observed_at") -> None:
    """Refuse (rule ``instant-range``, with the index of the first offender) epoch microseconds outside the
    accepted range; one vectorised test, so a million readings cost two comparisons each."""
    arr = np.asarray(ts.to_numpy(zero_copy_only=False), dtype=np.int64)
    bad = (arr < EARLIEST_US) | (arr >= LATEST_US)
    if bad.any():
        i = _first_true(bad)
        raise ValidationError(field, "instant-range",
                              f"{micros_iso(int(arr[i]))} is outside {_RANGE_TEXT} / 时间超出允许范围 (1900–2200)",
                              value=micros_iso(int(arr[i])), index=i)


def micros_iso(us: int, offset_hours: int = 0) -> str:
    """An epoch-microsecond instant as ISO 8601 at a fixed offset, for any instant an int64 holds (NumPy's
    calendar, not Python's datetime, which ends at year 9999): ``+08:00`` for the district's clock."""
    return iso_strings(np.array([us], dtype=np.int64), offset_hours)[0]


def iso_strings(us: np.ndarray, offset_hours: int = 8) -> list[str]:
    """Epoch microseconds as ISO 8601 text at a fixed offset (``2026-11-27T10:00:00+08:00``; fractions only when
    present, as orjson writes a datetime). Works for every int64, so a stored value can always be shown."""
    local = np.asarray(us, dtype=np.int64) + offset_hours * 3_600_000_000
    text = np.datetime_as_string(local.astype("datetime64[us]"), unit="us")
    suffix = "Z" if offset_hours == 0 else f"{'+' if offset_hours > 0 else '-'}{abs(offset_hours):02d}:00"
    return [(t[:-7] if t.endswith(".000000") else t) + suffix for t in text.tolist()]


def check_text(value: str, field: str, *, allow_layout: bool = False) -> str:
    """Refuse control characters (rule ``control-character``) in ``value``: U+0000–U+001F and U+007F. With
    ``allow_layout`` (free text such as a property value) tab, line feed and carriage return are allowed."""
    found = (_CONTROL if allow_layout else _CONTROL_ANY).search(value)
    if found is not None:
        raise ValidationError(field, "control-character",
                              f"control character U+{ord(found.group()):04X} at position {found.start()} is not "
                              "allowed / 不允许控制字符", value=repr(value[:80]))
    return value


def _first_true(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _utc_micros_from_datetimes(values: Sequence[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=np.int64)
    for i, v in enumerate(values):
        if isinstance(v, str):
            try:
                v = datetime.fromisoformat(v.replace("Z", "+00:00") if v.endswith("Z") else v)
            except ValueError:
                raise ValidationError("observed_at", "datetime-format",
                                      f"{v!r} is not an ISO 8601 date-time / 时间格式错误", value=v,
                                      index=i) from None
        if not isinstance(v, datetime):
            raise ValidationError("observed_at", "datetime-type",
                                  f"expected a date-time, got {type(v).__name__}", value=v, index=i)
        if v.tzinfo is None or v.utcoffset() is None:
            raise ValidationError(
                "observed_at", "timezone-required",
                f"{v.isoformat()} has no time zone; give an offset such as +08:00 or Z / 时间戳必须带时区",
                value=v.isoformat(), index=i,
            )
        # Integer arithmetic keeps microseconds exact (float timestamps lose them after 2^53).
        delta = v - datetime(1970, 1, 1, tzinfo=v.tzinfo) - v.utcoffset()  # type: ignore[operator]
        out[i] = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return out


def _ts_column(observed_at: Any) -> pa.Array:
    if isinstance(observed_at, pa.ChunkedArray):
        observed_at = observed_at.combine_chunks()
    if isinstance(observed_at, pa.Array):
        if pa.types.is_timestamp(observed_at.type):
            if observed_at.type.tz is None:
                raise ValidationError("observed_at", "timezone-required",
                                      "timestamps have no time zone; use a tz-aware timestamp type / 时间戳必须带时区",
                                      index=0)
            cast = pc.cast(observed_at, pa.timestamp("us", tz="UTC"))
            return pc.cast(cast, pa.int64())
        if pa.types.is_string(observed_at.type) or pa.types.is_large_string(observed_at.type):
            try:
                return pc.cast(pc.cast(observed_at, pa.timestamp("us", tz="UTC")), pa.int64())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                # Find and name the offending item the slow way.
                return pa.array(_utc_micros_from_datetimes(observed_at.to_pylist()))
        raise ValidationError("observed_at", "datetime-type",
                              f"observed_at must be timestamps with a time zone, got {observed_at.type}")
    if isinstance(observed_at, np.ndarray) and np.issubdtype(observed_at.dtype, np.datetime64):
        raise ValidationError("observed_at", "timezone-required",
                              "numpy datetime64 carries no time zone; pass tz-aware datetimes or Arrow "
                              "timestamps with tz / 时间戳必须带时区", index=0)
    return pa.array(_utc_micros_from_datetimes(list(observed_at)), type=pa.int64())


def _as_given(given: Any, column: pa.Array) -> pa.Array | str:
    """What to encode: the caller's one string or dictionary array as given (already encoded), else the column."""
    if isinstance(given, str):
        return given
    if isinstance(given, pa.Array | pa.ChunkedArray) and pa.types.is_dictionary(given.type):
        return given
    return column


def _repeat(value: str, n: int) -> pa.Array:
    """``value`` ``n`` times as a string column: one Arrow ``take`` (a Python list of a million references cost
    ≈ 29 ms, this ≈ 5 ms)."""
    return pc.take(pa.array([value], type=pa.string()), pa.array(np.zeros(n, dtype=np.int32)))


def _string_column(values: Any, name: str, n: int) -> pa.Array:
    if isinstance(values, str):
        return _repeat(values, n)  # one id or attribute for the whole batch
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    try:
        arr = values if isinstance(values, pa.Array) else pa.array(list(values), type=pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError) as err:
        raise ValidationError(name, "string", f"{name} must be text / {name} 必须为文本") from err
    if arr.type != pa.string():
        try:
            arr = pc.cast(arr, pa.string())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as err:
            raise ValidationError(name, "string", f"{name} must be text") from err
    if arr.null_count:
        raise ValidationError(name, "required", f"{name} is required / 缺少 {name}",
                              index=_first_true(np.asarray(arr.is_null())))
    return arr


def _check_distinct(values: list[str], codes: np.ndarray, name: str, check: Any) -> None:
    """Run ``check`` once per distinct value (a dictionary from :func:`_encode`), naming the first reading that
    carries an offending one."""
    for k, v in enumerate(values):
        try:
            check(v)
        except ValidationError as err:
            raise ValidationError(name, err.rule, err.message, value=v, index=_first_true(codes == k)) from None


def _encode(values: pa.Array | str, n: int) -> tuple[list[str], np.ndarray]:
    """``(distinct values, int32 code of each reading)``; a null is code -1 and not among the values. One string
    for every reading costs nothing; a column is dictionary-encoded once (a hash pass in Arrow) and everything
    after it — checks, series look-up, unit plans — works on the few distinct values and integer codes."""
    if isinstance(values, str):
        return [values], np.zeros(n, dtype=np.int32)
    if isinstance(values, pa.ChunkedArray):
        if pa.types.is_dictionary(values.type):
            values = values.unify_dictionaries()
        values = values.combine_chunks()
    if not pa.types.is_dictionary(values.type):
        values = pc.dictionary_encode(values)
    dictionary = values.dictionary.to_pylist()
    codes = values.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
    if len(set(dictionary)) != len(dictionary) or None in dictionary:
        # A caller's dictionary array may repeat a value (or hold a null): make the codes name distinct values.
        distinct = [v for v in dict.fromkeys(dictionary) if v is not None]
        position = {v: i for i, v in enumerate(distinct)}
        remap = np.array([position.get(v, -1) for v in dictionary] + [-1], dtype=np.int32)
        codes, dictionary = remap[codes], distinct
    return dictionary, codes


@dataclass(frozen=True)
class BatchKeys:
    """A batch's entity ids, attributes and units as small dictionaries plus one int32 code per reading
    (``-1``: no unit), so the twin and the store resolve series with integer arithmetic on the distinct values
    instead of string joins over every reading."""

    entities: list[str]
    entity_codes: np.ndarray
    attributes: list[str]
    attribute_codes: np.ndarray
    units: list[str]
    unit_codes: np.ndarray | None  # None: no reading names a unit

    def pair_codes(self) -> np.ndarray:
        """Per reading, ``entity code × len(attributes) + attribute code`` (int64): one integer per series."""
        if len(self.attributes) == 1:
            return self.entity_codes.astype(np.int64)
        return self.entity_codes.astype(np.int64) * len(self.attributes) + self.attribute_codes

    def combo_codes(self) -> np.ndarray:
        """Per reading, one integer per ``(entity, attribute, unit sent)`` (see :meth:`combos`)."""
        pairs = self.pair_codes()
        if self.unit_codes is None:
            return pairs
        return pairs * (len(self.units) + 1) + (self.unit_codes + 1)

    def combos(self) -> list[tuple[str, str, str | None]]:
        """The distinct ``(entity id, attribute, unit or None)`` of the batch, in code order (computed once)."""
        return self._combos

    @cached_property
    def _combos(self) -> list[tuple[str, str, str | None]]:
        n_units = len(self.units) + 1 if self.unit_codes is not None else 1
        out = []
        for code in present_codes(self.combo_codes(), len(self.entities) * len(self.attributes) * n_units):
            pair, unit = divmod(int(code), n_units)
            e, a = divmod(pair, len(self.attributes))
            out.append((self.entities[e], self.attributes[a], self.units[unit - 1] if unit else None))
        return out


def present_codes(codes: np.ndarray, size: int) -> np.ndarray:
    """The distinct values of non-negative integer ``codes`` below ``size``, ascending: a counting pass when
    ``size`` is small next to the batch (the usual case: a few thousand series), else a sort."""
    if not len(codes):
        return np.empty(0, dtype=np.int64)
    if size <= max(4 * len(codes), 1 << 16):
        return np.flatnonzero(np.bincount(codes, minlength=size))
    ordered = np.sort(codes)
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))]


_WELL_FORMED_IDS: set[str] = set()  # ids already found well-formed: a feed sends the same meters every batch


def _check_entity_id(value: str) -> None:
    """:func:`parse_entity_id` once per id for the process's life (the regular expression cost ≈ 6 µs an id, 6 ms
    a batch of 1,000 meters); only ids that passed are remembered, at most a million."""
    if value in _WELL_FORMED_IDS:
        return
    parse_entity_id(value, "entity_id")
    if len(_WELL_FORMED_IDS) < 1_000_000:
        _WELL_FORMED_IDS.add(value)


def _check_attribute(name: str) -> None:
    if not ATTRIBUTE_NAME.match(name):
        raise ValidationError("attribute", "attribute-name",
                              f"{name!r} is not an attribute name (letters, digits, _; not starting with a digit)")


def parse_instant(text: str | None, field: str) -> datetime | None:
    """An ISO 8601 instant typed by a person (query string, command line); ``None`` stays ``None``.

    A time zone is required. A ``+08:00`` whose ``+`` arrived as a space (an unencoded URL) is restored."""
    if text is None:
        return None
    t = text.strip()
    if " " in t and "+" not in t[10:]:
        head, _, tail = t.rpartition(" ")
        t = f"{head}+{tail}"
    try:
        value = datetime.fromisoformat(t.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(field, "datetime-format", f"{text!r} is not an ISO 8601 date-time / 时间格式错误",
                              value=text) from None
    if value.tzinfo is None:
        raise ValidationError(field, "timezone-required", f"{text} has no time zone; add +08:00 or Z / 时间须带时区",
                              value=text)
    return check_instant(value, field)


_DATE_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_date(text: str | None, field: str) -> date | None:
    """A calendar date typed by a person, ``YYYY-MM-DD`` only (``None`` stays ``None``), within 1900–2199.

    Numbers are refused: ``0`` is not 1970-01-01 (what a lax parser makes of an epoch), it is a mistake."""
    if text is None:
        return None
    t = text.strip()
    try:
        if not _DATE_TEXT.match(t):
            raise ValueError
        value = date.fromisoformat(t)
    except ValueError:
        raise ValidationError(field, "date-format", f"{text!r} is not a date YYYY-MM-DD / 日期格式应为 YYYY-MM-DD",
                              value=text) from None
    return check_date(value, field)


class ObservationBatch:
    """A validated, columnar batch of readings (see :data:`BATCH_SCHEMA`); :meth:`keys` gives its dictionary
    codes (computed once, by validation when it built them)."""

    def __init__(self, table: pa.Table, keys: BatchKeys | None = None) -> None:
        self.table = table
        self._keys = keys

    def __len__(self) -> int:
        return self.table.num_rows

    def keys(self) -> BatchKeys:
        """The batch's entity ids, attributes and units as dictionaries and per-reading codes."""
        if self._keys is None:
            n = self.table.num_rows
            entities, e_codes = _encode(self.table["entity_id"], n)
            attributes, a_codes = _encode(self.table["attribute"], n)
            unit = self.table["unit"]
            units, u_codes = _encode(unit, n) if unit.null_count < n else ([], None)
            self._keys = BatchKeys(entities, e_codes, attributes, a_codes, units, u_codes)
        return self._keys

    @classmethod
    def from_arrays(
        cls,
        entity_id: Any,
        attribute: Any,
        observed_at: Any,
        value: Any,
        unit: Any = None,
    ) -> ObservationBatch:
        """Build from columns. ``entity_id`` / ``attribute`` / ``unit`` may be one string for every row;
        ``observed_at`` tz-aware datetimes, ISO 8601 strings with offset, or an Arrow timestamp array with tz;
        ``value`` numbers (NumPy float64 is the fast path).

        Raises ValidationError naming the field, the rule and the index of the first bad reading.
        """
        if isinstance(value, pa.ChunkedArray):
            value = value.combine_chunks()
        try:
            values = np.asarray(value.to_numpy(zero_copy_only=False) if isinstance(value, pa.Array) else value)
            if values.dtype == np.bool_ or values.dtype.kind not in "iuf":
                raise TypeError
            values = values.astype(np.float64, copy=False)
        except (TypeError, ValueError):
            raise ValidationError("value", "number", "readings must be numbers / 读数必须为数值") from None
        n = len(values)
        if values.ndim != 1:
            raise ValidationError("value", "number", "readings must be a flat list of numbers")
        finite = np.isfinite(values)
        if not finite.all():
            i = _first_true(~finite)
            raise ValidationError("value", "finite", f"{values[i]} is not a finite number / 读数不能为 NaN 或无穷",
                                  value=str(values[i]), index=i)
        ts = _ts_column(observed_at)
        if len(ts) != n:
            raise ValidationError("observed_at", "length", f"{len(ts)} timestamps for {n} values")
        check_micros_range(ts)
        ids = _string_column(entity_id, "entity_id", n)
        attrs = _string_column(attribute, "attribute", n)
        for name, col in (("entity_id", ids), ("attribute", attrs)):
            if len(col) != n:
                raise ValidationError(name, "length", f"{len(col)} {name} values for {n} readings")
        # Checked once per distinct value; the codes are kept for the twin's series plan and the store.
        entities, e_codes = _encode(_as_given(entity_id, ids), n)
        attributes, a_codes = _encode(_as_given(attribute, attrs), n)
        _check_distinct(entities, e_codes, "entity_id", _check_entity_id)
        _check_distinct(attributes, a_codes, "attribute", _check_attribute)
        unit_list: list[str] = []
        u_codes: np.ndarray | None = None
        if unit is None:
            units = pa.nulls(n, type=pa.string())
        else:
            if isinstance(unit, str):
                units = _repeat(unit, n)
            else:
                units = unit.combine_chunks() if isinstance(unit, pa.ChunkedArray) else unit
                units = units if isinstance(units, pa.Array) else pa.array(list(units), type=pa.string())
                if len(units) != n:
                    raise ValidationError("unit", "length", f"{len(units)} units for {n} readings")
                if units.type != pa.string():
                    try:
                        units = pc.cast(units, pa.string())
                    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as err:
                        raise ValidationError("unit", "string", "unit must be text / 单位必须为文本") from err
            unit_list, codes = _encode(unit if isinstance(unit, str) else units, n)
            _check_distinct(unit_list, codes, "unit", lambda v: check_unit(v, "unit"))
            u_codes = codes if unit_list else None
        table = pa.Table.from_arrays([ids, attrs, ts, pa.array(values), units], schema=BATCH_SCHEMA)
        return cls(table, BatchKeys(entities, e_codes, attributes, a_codes, unit_list, u_codes))

    @classmethod
    def from_records(cls, records: Iterable[Observation | Mapping[str, Any]]) -> ObservationBatch:
        """Build from :class:`Observation` objects or dicts with ``entity_id``, ``attribute``,
        ``observed_at``, ``value`` and optional ``unit``. Unknown keys are refused (rule ``unknown-field``)."""
        cols: dict[str, list[Any]] = {k: [] for k in (*_FIELDS, "unit")}
        for i, rec in enumerate(records):
            if isinstance(rec, Observation):
                row: Mapping[str, Any] = rec.__dict__
            elif isinstance(rec, Mapping):
                row = rec
                extra = set(row) - {*_FIELDS, "unit"}
                if extra:
                    raise ValidationError(sorted(extra)[0], "unknown-field",
                                          f"unknown field {sorted(extra)[0]!r}; expected {', '.join(_FIELDS)}, unit",
                                          index=i)
            else:
                raise ValidationError("observation", "object", "each observation must be an object", index=i)
            for k in _FIELDS:
                if k not in row or row[k] is None:
                    raise ValidationError(k, "required", f"{k} is required / 缺少 {k}", index=i)
            v = row["value"]
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise ValidationError("value", "number", "a reading must be a number / 读数必须为数值",
                                      value=v, index=i)
            for k in _FIELDS:
                cols[k].append(row[k])
            cols["unit"].append(row.get("unit"))
        units: Any = cols["unit"] if any(u is not None for u in cols["unit"]) else None
        return cls.from_arrays(cols["entity_id"], cols["attribute"], cols["observed_at"],
                               np.asarray(cols["value"], dtype=np.float64), units)
