"""The core (核心): the entity model, the type registry, the store Protocol, the twin, errors, units, the ``q``
grammar and the pack contract. It imports no face, no pack and no store (checked by import-linter, see
pyproject.toml); a regular package so that the checker sees its modules."""
