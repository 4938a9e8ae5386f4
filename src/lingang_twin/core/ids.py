"""Entity identifiers: NGSI-LD URNs of the form ``urn:ngsi-ld:<Type>:<local-id>``."""

from __future__ import annotations

import re

from lingang_twin.core.errors import ValidationError

TYPE_NAME = re.compile(r"^[A-Z][A-Za-z0-9]*$")
# RFC 8141 NSS characters that stay readable in URLs and file names; no spaces, no slashes.
_URN = re.compile(r"^urn:ngsi-ld:(?P<type>[A-Z][A-Za-z0-9]*):(?P<local>[A-Za-z0-9][A-Za-z0-9._~:+=@-]*)$")
MAX_ID_LENGTH = 256


def parse_entity_id(entity_id: object, field: str = "id") -> tuple[str, str]:
    """Split an entity URN into ``(type, local_id)``; raise ValidationError (rule ``urn-format``) if malformed.

    >>> parse_entity_id("urn:ngsi-ld:Building:lingang-center")
    ('Building', 'lingang-center')
    """
    if not isinstance(entity_id, str):
        raise ValidationError(field, "urn-format", f"an entity id must be text, got {type(entity_id).__name__}",
                              value=entity_id)
    if len(entity_id) > MAX_ID_LENGTH:
        raise ValidationError(field, "urn-length", f"an entity id is at most {MAX_ID_LENGTH} characters",
                              value=entity_id)
    m = _URN.match(entity_id)
    if m is None:
        raise ValidationError(
            field,
            "urn-format",
            f"{entity_id!r} is not a URN of the form urn:ngsi-ld:<Type>:<local-id> (Type in CamelCase; "
            "local id of letters, digits and . _ ~ : + = @ -) / 实体 ID 须为 urn:ngsi-ld:<类型>:<本地ID>",
            value=entity_id,
        )
    return m.group("type"), m.group("local")


def entity_id(type_name: str, local_id: str) -> str:
    """Build the URN of an entity of ``type_name`` with ``local_id`` (validated)."""
    urn = f"urn:ngsi-ld:{type_name}:{local_id}"
    parse_entity_id(urn)
    return urn
