"""Readings from a binary body: an Arrow IPC stream or a Parquet file, for integrators who send millions.

One table of readings, one row each, in these columns (any order; no others):

========================  ==================================================================================
``entity_id``             text: ``string``, ``large_string`` or a dictionary of strings (recommended: a
                          dictionary costs one small look-up per distinct meter instead of a hash per row)
``attribute``             text, as ``entity_id``
``observed_at``           ``timestamp`` **with a time zone** (any unit; ``timestamp[us, tz=UTC]`` is stored as
                          is). Not ``int64``: an integer says neither its unit nor its epoch, a typed timestamp
                          says both. Nanoseconds must be whole microseconds (the store keeps µs).
``value``                 a number: ``float64`` (as stored), ``float32`` or any integer type
``unit``                  optional text; null or absent: the series' own unit
========================  ==================================================================================

A wrong schema or type is a 422 problem naming the column and the rule, an unreadable body a 400; either way
nothing is written. Row checks (ids, names, finite values, instants in range, units) are those of every batch
(:meth:`~lingang_twin.core.observations.ObservationBatch.from_arrays`) and name the row's index.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from lingang_twin.core.errors import ValidationError
from lingang_twin.core.observations import ObservationBatch
from lingang_twin.json_readings import BodyError

ARROW_STREAM = "application/vnd.apache.arrow.stream"
PARQUET = "application/vnd.apache.parquet"
REQUIRED = ("entity_id", "attribute", "observed_at", "value")
COLUMNS = (*REQUIRED, "unit")


def read_arrow_stream(raw: bytes) -> pa.Table:
    """The table of an Arrow IPC stream body; 400 (rule ``arrow-format``) if it is not one."""
    try:
        return pa.ipc.open_stream(pa.py_buffer(raw)).read_all()
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as err:
        raise BodyError(400, "Unreadable Arrow stream / 无法读取 Arrow 数据流",
                        f"the body is not an Arrow IPC stream ({err}); send the streaming format, not the file "
                        "format / 请求体不是 Arrow IPC 流格式", "arrow-format", "body") from None


def read_parquet(raw: bytes) -> pa.Table:
    """The table of a Parquet body; 400 (rule ``parquet-format``) if it is not one."""
    try:
        return pq.read_table(pa.BufferReader(raw))
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OSError) as err:
        raise BodyError(400, "Unreadable Parquet / 无法读取 Parquet 文件",
                        f"the body is not a Parquet file ({err}) / 请求体不是 Parquet 文件", "parquet-format",
                        "body") from None


def _is_text(t: pa.DataType) -> bool:
    if pa.types.is_dictionary(t):
        t = t.value_type
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def _no_nulls(column: pa.ChunkedArray, name: str) -> None:
    if column.null_count:
        first = pc.index(pc.is_null(column), True).as_py()
        raise ValidationError(name, "required", f"{name} is required; row {first} has none / 缺少 {name}",
                              index=first)


def _text(column: pa.ChunkedArray) -> pa.ChunkedArray | pa.Array:
    """A text column as one array: dictionaries kept (one dictionary for every chunk), other text as string."""
    if pa.types.is_dictionary(column.type):
        return column.unify_dictionaries().combine_chunks()
    if column.type != pa.string():
        column = pc.cast(column, pa.string())
    return column.combine_chunks()


def readings_from_table(table: pa.Table, max_items: int) -> ObservationBatch:
    """The checked readings of an Arrow table of the documented schema (see the module docstring)."""
    names = table.column_names
    for name in names:
        if name not in COLUMNS:
            raise ValidationError(name, "unknown-field", f"unknown column {name!r}; expected "
                                  f"{', '.join(REQUIRED)} and optionally unit / 未知列 {name}")
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise ValidationError(twice, "duplicate-column", f"column {twice!r} appears twice / 列重复")
    for name in REQUIRED:
        if name not in names:
            raise ValidationError(name, "required", f"column {name!r} is missing / 缺少列 {name}")
    if table.num_rows > max_items:
        raise ValidationError("body", "batch-size", f"at most {max_items} readings per batch")
    for name in ("entity_id", "attribute", "unit"):
        if name in names and not _is_text(table.schema.field(name).type):
            raise ValidationError(name, "string", f"column {name!r} must be text (string or a dictionary of "
                                  f"strings), not {table.schema.field(name).type} / {name} 列必须为文本")
    ts_type = table.schema.field("observed_at").type
    if not pa.types.is_timestamp(ts_type):
        raise ValidationError("observed_at", "timestamp-type",
                              f"column 'observed_at' must be a timestamp with a time zone (e.g. timestamp[us, "
                              f"tz=UTC]), not {ts_type} / observed_at 列必须为带时区的时间戳")
    if ts_type.tz is None:
        raise ValidationError("observed_at", "timezone-required",
                              f"column 'observed_at' is {ts_type} without a time zone; use e.g. timestamp[us, "
                              "tz=UTC] / 时间戳必须带时区")
    value_type = table.schema.field("value").type
    if not (pa.types.is_floating(value_type) or pa.types.is_integer(value_type)):
        raise ValidationError("value", "number", f"column 'value' must be numbers (float64, float32 or an "
                              f"integer type), not {value_type} / value 列必须为数值")
    for name in REQUIRED:
        _no_nulls(table[name], name)
    observed = table["observed_at"]
    if ts_type.unit == "ns":
        whole = pc.equal(pc.remainder(pc.cast(observed, pa.int64()), 1000), 0)
        if not pc.all(whole).as_py():
            first = pc.index(whole, False).as_py()
            raise ValidationError("observed_at", "microseconds", "timestamps are stored to the microsecond; row "
                                  f"{first} has nanoseconds / 时间精度最多到微秒", index=first)
    value = table["value"] if value_type == pa.float64() else pc.cast(table["value"], pa.float64())
    unit = _text(table["unit"]) if "unit" in names else None
    return ObservationBatch.from_arrays(_text(table["entity_id"]), _text(table["attribute"]),
                                        observed.combine_chunks(), value.combine_chunks(), unit)


def readings_from_body(raw: bytes, media: str, max_items: int) -> ObservationBatch:
    """The checked readings of an Arrow IPC stream (``media`` :data:`ARROW_STREAM`) or Parquet body."""
    table = read_arrow_stream(raw) if media == ARROW_STREAM else read_parquet(raw)
    return readings_from_table(table, max_items)
