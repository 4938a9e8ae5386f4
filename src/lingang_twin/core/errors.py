"""The one exception tree of Lingang Twin.

Every error the platform raises on purpose is a :class:`TwinError`. Faces translate the tree in one place
(HTTP: ``application/problem+json``; CLI: one line and exit code 2); stores translate their database's
errors into it with ``raise ... from err``::

    TwinError
    ├── ValidationError        bad input: names the field and the rule; nothing was written
    │   ├── QuerySyntaxError   a ``q`` expression that does not parse; says where
    │   └── GeometryError      a GeoJSON geometry that is malformed or not valid
    ├── NotFoundError          an entity (or other object) that does not exist
    ├── ConflictError          creating something that exists already
    └── StoreError             the store failed (I/O, corruption, lock)
        └── SchemaVersionError the file was written by a newer version of Lingang Twin

Messages are English first with the Chinese after a `` / `` so that both the operations centre and
integrators can read them; ``field`` and ``rule`` are machine-readable.
"""

from __future__ import annotations

from typing import Any


class TwinError(Exception):
    """Base of every error Lingang Twin raises on purpose."""


class ValidationError(TwinError, ValueError):
    """Bad input. Names the ``field`` and the ``rule`` it broke; nothing was written.

    ``index`` is the position of the offending item in a batch (``None`` for a single item).
    """

    def __init__(
        self,
        field: str,
        rule: str,
        message: str | None = None,
        *,
        value: Any = None,
        index: int | None = None,
    ) -> None:
        self.field = field
        self.rule = rule
        self.value = value
        self.index = index
        where = f"item {index}: " if index is not None else ""
        self.message = message or rule
        super().__init__(f"{where}{field}: {self.message}")

    def at(self, index: int) -> ValidationError:
        """Return this error re-labelled as item ``index`` of a batch (keeps type and details)."""
        self.index = index
        self.args = (f"item {index}: {self.field}: {self.message}",)
        return self

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able description: field, rule, message and (for batches) index."""
        out: dict[str, Any] = {"field": self.field, "rule": self.rule, "message": self.message}
        if self.index is not None:
            out["index"] = self.index
        return out


class QuerySyntaxError(ValidationError):
    """A ``q`` expression that does not parse. ``position`` is the 0-based character offset."""

    def __init__(self, expression: str, position: int, expected: str, field: str = "q") -> None:
        self.expression = expression
        self.position = position
        self.expected = expected
        pointer = f"{expression}\n{' ' * position}^"
        super().__init__(
            field,
            "q-syntax",
            f"cannot parse q at position {position}: {expected} / q 表达式在第 {position} 个字符处无法解析\n"
            f"{pointer}",
            value=expression,
        )


class GeometryError(ValidationError):
    """A GeoJSON geometry that is malformed or invalid (unclosed ring, self-intersection, range, swap)."""


class NotFoundError(TwinError, KeyError):
    """Something asked for by id does not exist."""

    def __init__(self, what: str, ident: str) -> None:
        self.what = what
        self.ident = ident
        super().__init__(f"{what} not found: {ident} / 未找到{what}: {ident}")

    def __str__(self) -> str:  # KeyError quotes its argument; we want the plain message
        return str(self.args[0])


class ConflictError(TwinError):
    """Creating something that already exists, or a write that contradicts stored data."""


class StoreError(TwinError):
    """The store failed: I/O, a lock held by another process, a corrupt file."""


class SchemaVersionError(StoreError):
    """The store's schema is newer than this version of Lingang Twin understands."""
