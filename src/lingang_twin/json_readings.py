"""Readings from a JSON array body, read the same way in the server's worker thread or in a child process.

Why a module of its own, outside ``api/``: ``orjson.loads`` and the list comprehensions that turn the rows into
columns hold the GIL (≈ 1.1 s for a 24 MB body), so a worker thread does not free the event loop. Large bodies
are therefore read in a child process (``api/parse_pool.py``) that runs this module (``python -m
lingang_twin.json_readings``: NumPy, Arrow, the core's checks — not FastAPI). Both paths run
:func:`readings_from_json`; the child sends its answer back as data (:func:`readings_outcome`): the checked
columns as Arrow IPC bytes, which the parent maps without copying, or the error's fields, from which
:func:`batch_of` raises the same error the thread would have raised.

The child's protocol on its stdin/stdout, one request at a time: the parent writes a header (body length,
``max_items``; two unsigned 64-bit little-endian integers) and the body; the child answers with one tag byte
(``b``: batch, ``p``: a pickled outcome) and a 64-bit length, then the payload. End of input (the server closed
the pipe, or died) ends the child.
"""

from __future__ import annotations

import pickle
import signal
import struct
import sys
from typing import Any, BinaryIO

import numpy as np
import orjson
import pyarrow as pa

from lingang_twin.core.errors import ValidationError
from lingang_twin.core.observations import ObservationBatch

FIELDS = ("entity_id", "attribute", "observed_at", "value")
ALLOWED = frozenset((*FIELDS, "unit"))
#: What the child sends back: ("batch", Arrow IPC stream bytes), ("invalid", ValidationError fields),
#: ("body", BodyError fields) or ("thread", why): anything else, which the parent reproduces in its thread.
Outcome = tuple[str, Any]


class BodyError(Exception):
    """A body the server cannot read as asked: HTTP status, title, detail, rule and field (the API answers it as
    problem+json; ``api.problems.ProblemError`` is this with a route's conditions)."""

    def __init__(self, status: int, title: str, detail: str, rule: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.rule, self.field = status, title, detail, rule, field


def parse_json(raw: bytes, expect: type = dict) -> Any:
    """``raw`` parsed as JSON and checked to be ``expect`` (dict or list); BodyError 400 (malformed) or 422
    (the wrong top-level shape) otherwise. orjson refuses NaN and Infinity as malformed JSON."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        raise BodyError(400, "Malformed JSON / JSON 格式错误",
                        f"the body is not valid JSON: {err} / 请求体不是有效的 JSON", "json-syntax", "body") from None
    if not isinstance(data, expect):
        shape = ("an object", "对象") if expect is dict else ("an array", "数组")
        raise BodyError(422, "Invalid input / 输入无效", f"the body must be {shape[0]} / 请求体必须是{shape[1]}",
                        "json-shape", "body")
    return data


def batch_from_json_rows(rows: list[Any]) -> ObservationBatch:
    """Columns from a list of JSON objects without a per-row Python object model (the ingest hot path).

    Anything unusual (a missing key, a wrong type, an unknown field) falls back to the record path, which names
    the item, the field and the rule.
    """
    try:
        if any(type(r) is not dict or not r.keys() <= ALLOWED for r in rows):
            raise TypeError
        values = [r["value"] for r in rows]
        if any(type(v) is not float and type(v) is not int for v in values):
            raise TypeError
        has_unit = any("unit" in r for r in rows)
        return ObservationBatch.from_arrays(
            pa.array([r["entity_id"] for r in rows], type=pa.string()),
            pa.array([r["attribute"] for r in rows], type=pa.string()),
            pa.array([r["observed_at"] for r in rows], type=pa.string()),
            np.asarray(values, dtype=np.float64),
            pa.array([r.get("unit") for r in rows], type=pa.string()) if has_unit else None,
        )
    except (KeyError, TypeError, pa.ArrowInvalid, pa.ArrowTypeError):
        return ObservationBatch.from_records(rows)


def readings_from_json(raw: bytes, max_items: int) -> ObservationBatch:
    """The checked readings of a JSON array body of at most ``max_items`` items. Raises BodyError (malformed
    JSON, not an array) or ValidationError (``batch-size``; a bad item, naming its index, field and rule)."""
    rows = parse_json(raw, list)
    if len(rows) > max_items:
        raise ValidationError("body", "batch-size", f"at most {max_items} readings per batch")
    return batch_from_json_rows(rows)


def readings_outcome(raw: bytes, max_items: int) -> Outcome:
    """:func:`readings_from_json` as data a process can send: the batch as Arrow IPC bytes, or the error."""
    try:
        batch = readings_from_json(raw, max_items)
    except BodyError as err:
        return "body", (err.status, err.title, err.detail, err.rule, err.field)
    except Exception as err:  # sent back as data, never lost
        if type(err) is ValidationError:
            return "invalid", (err.field, err.rule, err.message, err.value, err.index)
        # A subclass with fields of its own, or a bug: the parent runs the thread path, which raises it as is.
        return "thread", repr(err)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.table.schema) as writer:
        writer.write_table(batch.table)
    return "batch", sink.getvalue().to_pybytes()


def batch_of(outcome: Outcome) -> ObservationBatch:
    """The batch a :func:`readings_outcome` describes (mapped onto the received bytes, not copied), or the
    error it describes, raised as the thread path raises it (not for ``"thread"``: the caller reruns that)."""
    kind, data = outcome
    if kind == "batch":
        return ObservationBatch(pa.ipc.open_stream(pa.py_buffer(data)).read_all())
    if kind == "invalid":
        field, rule, message, value, index = data
        raise ValidationError(field, rule, message, value=value, index=index)
    if kind == "body":
        raise BodyError(*data)
    raise ValueError(f"unknown outcome {kind!r}")


HEADER = struct.Struct("<QQ")
ANSWER = struct.Struct("<cQ")


def _read_exactly(stream: BinaryIO, n: int) -> bytes | None:
    """``n`` bytes from ``stream``, or None at end of input."""
    data = stream.read(n)
    return data if data is not None and len(data) == n else None


def write_outcome(stream: BinaryIO, outcome: Outcome) -> None:
    """One answer of the protocol (see the module docstring)."""
    kind, data = outcome
    payload = data if kind == "batch" else pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(ANSWER.pack(b"b" if kind == "batch" else b"p", len(payload)))
    stream.write(payload)
    stream.flush()


def read_outcome(stream: BinaryIO) -> Outcome:
    """One answer written by :func:`write_outcome`; EOFError if the child is gone. The pickle comes from our own
    child process, never from a client."""
    head = _read_exactly(stream, ANSWER.size)
    if head is None:
        raise EOFError("the JSON parsing child closed its output")
    tag, size = ANSWER.unpack(head)
    payload = _read_exactly(stream, size)
    if payload is None:
        raise EOFError("the JSON parsing child stopped mid-answer")
    return ("batch", payload) if tag == b"b" else pickle.loads(payload)  # our own child's answer


def serve_pipe(stdin: BinaryIO, stdout: BinaryIO) -> None:
    """The child's loop: read a request, answer it, until end of input."""
    while (head := _read_exactly(stdin, HEADER.size)) is not None:
        size, max_items = HEADER.unpack(head)
        raw = _read_exactly(stdin, size)
        if raw is None:
            return
        write_outcome(stdout, readings_outcome(raw, max_items))


if __name__ == "__main__":
    # Ctrl-C in a terminal reaches the whole process group: the server decides when its children stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    serve_pipe(sys.stdin.buffer, sys.stdout.buffer)
