"""Data classification (数据分类分级): the grade of every entity type and attribute, and masking for a caller.

Every attribute of every entity (property, relationship, geo-property, time series) carries one of the grades of
:data:`~lingang_twin.core.access.CLASSIFICATIONS` — ``public``, ``internal``, ``sensitive``, ``personal``,
``important`` — found, first match wins, in:

1. the deployment's overrides for ``(type, attribute)``, then for ``("*", attribute)`` (a JSON file,
   ``LINGANG_CLASSIFICATION_FILE``; :func:`parse_overrides`);
2. the type's own declaration (``register_type(..., classification={...})``, :class:`EntityType.classification`)
   for the attribute;
3. :data:`DEFAULT_CLASSIFICATION` for ``(type, attribute)``, then for ``("*", attribute)``: attribute names that
   are personal information wherever they appear (``phone``, ``idNumber``, ``driverName`` …) — the model is open,
   integrators add attributes nobody foresaw;
4. the type's grade (``"*"``): overrides, then the declaration, then the table;
5. :data:`UNCLASSIFIED`: ``internal``.

What a grade does to a caller (:func:`mask`): ``personal`` values are masked (a phone ``13812341234`` reads
``138****1234``, other text keeps its first character) unless the caller holds ``data:personal``; ``important``
attributes are removed unless it holds ``data:important``. ``public``, ``internal`` and ``sensitive`` are shown to
whoever may read the entity at all (roles and tenancy decide that); they differ in what may leave the district
(:mod:`lingang_twin.core.exports`).

References: Data Security Law of the PRC (数据安全法, 2021) art. 21 (classified, graded protection; important
data); Personal Information Protection Law (个人信息保护法, 2021) art. 4, 28, 51, 73 (personal and sensitive personal
information; de-identification); GB/T 43697-2024 *Data security technology — Rules for data classification and
grading* (数据安全技术 数据分类分级规则).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from lingang_twin.core.access import CLASSIFICATIONS, Classification, Principal
from lingang_twin.core.errors import ValidationError
from lingang_twin.core.model import Entity, Property

if TYPE_CHECKING:
    from lingang_twin.core.types import TypeRegistry

GRADES: tuple[str, ...] = tuple(CLASSIFICATIONS)
"""The grades, lowest first."""

RESTRICTED: frozenset[str] = frozenset({"personal", "important"})
"""Grades that need an approved request to leave the district (and a permission to be seen as they are)."""

ANY = "*"
"""In a table key: any type (``("*", "phone")``) or the type's own grade (``("Building", "*")``)."""


@dataclass(frozen=True)
class Grade:
    """A grade with the reason it was chosen (the source: a law, a standard, or the judgement behind it)."""

    grade: Classification
    reason: str


UNCLASSIFIED = Grade("internal", "not graded anywhere: protected as internal until someone grades it "
                     "(DSL art. 21: data are protected by grade; the least that is safe)")
"""What an attribute is when nothing grades it."""

_PERSONAL_NAME = "PIPL art. 4: identifies a natural person (name, contact, identity document)"
_PERSONAL_ID = "PIPL art. 28: identity document numbers are sensitive personal information"
_PERSONAL_TRACK = "PIPL art. 28: a natural person's whereabouts (行踪轨迹) are sensitive personal information"
_GRID = ("DSL art. 21 and GB/T 43697-2024 annex G: the capacity and topology of the power grid is data on "
         "critical information infrastructure whose leak endangers public safety (important data)")

DEFAULT_CLASSIFICATION: dict[tuple[str, str], Grade] = {
    # -- attribute names that are personal (or important) wherever they appear -----------------------------------
    ("*", "phone"): Grade("personal", _PERSONAL_NAME),
    ("*", "telephone"): Grade("personal", _PERSONAL_NAME),
    ("*", "mobile"): Grade("personal", _PERSONAL_NAME),
    ("*", "email"): Grade("personal", _PERSONAL_NAME),
    ("*", "contactPoint"): Grade("personal", _PERSONAL_NAME + " — FIWARE's contact of a thing is a person's"),
    ("*", "contactName"): Grade("personal", _PERSONAL_NAME),
    ("*", "contactPhone"): Grade("personal", _PERSONAL_NAME),
    ("*", "contactPerson"): Grade("personal", _PERSONAL_NAME),
    ("*", "personName"): Grade("personal", _PERSONAL_NAME),
    ("*", "driverName"): Grade("personal", _PERSONAL_NAME),
    ("*", "driver"): Grade("personal", _PERSONAL_NAME + " (a vehicle's driver)"),
    ("*", "ownerName"): Grade("personal", _PERSONAL_NAME),
    ("*", "legalRepresentative"): Grade("personal", _PERSONAL_NAME + " (an enterprise's legal representative)"),
    ("*", "idNumber"): Grade("personal", _PERSONAL_ID),
    ("*", "idCardNumber"): Grade("personal", _PERSONAL_ID),
    ("*", "passportNumber"): Grade("personal", _PERSONAL_ID),
    ("*", "gridConnectionCapacity"): Grade("important", _GRID),
    ("*", "connectionCapacity"): Grade("important", _GRID),
    ("*", "transformerCapacity"): Grade("important", _GRID),
    ("*", "feederId"): Grade("important", _GRID),
    # -- the base types -----------------------------------------------------------------------------------------
    ("District", "*"): Grade("public", "the district's name, outline and area are published in its master plan"),
    ("Zone", "*"): Grade("public", "functional zones are published in the Lingang master plan (2019)"),
    ("Parcel", "*"): Grade("internal", "parcel records are the administration's working data"),
    ("Parcel", "landUse"): Grade("public", "land use is published in the regulatory detailed plan (控规)"),
    ("Building", "*"): Grade("internal", "floor plans, heights and uses are the owners' and operators' working "
                             "data, shared inside the district"),
    ("Building", "occupants"): Grade("sensitive", "how many people a building holds is security-relevant "
                                     "(emergency planning), not for general release"),
    ("Space", "*"): Grade("internal", "leases and floor areas are the property managers' working data"),
    ("Meter", "*"): Grade("internal", "metering points and their set-up are the operators' working data"),
    ("Meter", "reading"): Grade("sensitive", "a tenant's consumption reveals its production (commercial "
                                "information, Anti-Unfair Competition Law art. 9); district totals are internal"),
    ("Road", "*"): Grade("public", "the street network is on every public map"),
    ("WeatherStation", "*"): Grade("internal", "meteorological observations leaving the country are regulated "
                                   "(涉外气象探测和资料管理办法, CMA 2006)"),
    ("Enterprise", "*"): Grade("internal", "tenancy records are the district administration's working data"),
    ("Enterprise", "name"): Grade("public", "enterprise names are public in the business registry"),
    ("Enterprise", "nameEn"): Grade("public", "enterprise names are public in the business registry"),
    ("Enterprise", "creditCode"): Grade("public", "the unified social credit code is public (GB 32100-2015)"),
    ("Enterprise", "industry"): Grade("public", "the registered line of business is public"),
    ("Enterprise", "employees"): Grade("sensitive", "head count is commercial information of the enterprise"),
    ("Alert", "*"): Grade("internal", "alerts are the operations centre's working data"),
}
"""The default grade of ``(type, attribute)`` with its reason; ``"*"`` as described in the module docstring.
Packs grade their own types in ``register_type(..., classification=...)``; deployments override either with
their file (:func:`parse_overrides`)."""


def check_grade(value: Any, field: str) -> Classification:
    """``value`` if it is a grade; else a ValidationError naming ``field`` (rule ``classification-grade``)."""
    if value not in CLASSIFICATIONS:
        raise ValidationError(field, "classification-grade",
                              f"{value!r} is not a classification; choose one of {', '.join(GRADES)} "
                              "/ 数据分级无效", value=value)
    return cast(Classification, value)


def check_declaration(declared: Mapping[str, Any], field: str,
                      default_reason: str = "declared without a reason") -> dict[str, Grade]:
    """A type's ``classification`` declaration checked: attribute (or ``"*"``) → :class:`Grade`, ``(grade,
    reason)``, ``{"grade": …, "reason": …}`` or a grade alone (then ``default_reason``). A bad grade is a
    ValidationError naming ``<field>.<attribute>`` (rule ``classification-grade``)."""
    out: dict[str, Grade] = {}
    for attribute, spec in declared.items():
        where = f"{field}.{attribute}"
        if isinstance(spec, Grade):
            out[attribute] = Grade(check_grade(spec.grade, where), spec.reason)
        elif isinstance(spec, tuple | list) and len(spec) == 2:
            out[attribute] = Grade(check_grade(spec[0], where), str(spec[1]))
        elif isinstance(spec, Mapping):
            out[attribute] = Grade(check_grade(spec.get("grade"), f"{where}.grade"),
                                   str(spec.get("reason") or default_reason))
        else:
            out[attribute] = Grade(check_grade(spec, where), default_reason)
    return out


def parse_overrides(raw: Any, types: TypeRegistry | None = None,
                    field: str = "classification") -> dict[tuple[str, str], Grade]:
    """A deployment's overrides from their JSON form — ``{"Building": {"occupants": "personal"}, "*": {"plate":
    {"grade": "personal", "reason": "…"}}}`` — checked whole before anything is applied: a bad grade, a type the
    twin does not know (when ``types`` is given) or a wrong shape is a ValidationError naming the field
    (``classification.Building.occupants``) and the rule."""
    if not isinstance(raw, Mapping):
        raise ValidationError(field, "object", "the classification file holds an object: type → attribute → grade "
                              "/ 分级配置须为对象")
    out: dict[tuple[str, str], Grade] = {}
    for type_name, attrs in raw.items():
        where = f"{field}.{type_name}"
        if type_name != ANY and types is not None and type_name not in types:
            known = ", ".join(t.name for t in types)
            raise ValidationError(where, "unknown-type", f"unknown entity type {type_name!r}; known types: {known} "
                                  "/ 未知实体类型", value=type_name)
        if not isinstance(attrs, Mapping):
            raise ValidationError(where, "object", "each type maps attribute → grade / 每个类型须为 属性→分级 的对象")
        for attribute, grade in check_declaration(attrs, where, "set by the deployment's classification file").items():
            if type_name == ANY and attribute == ANY:
                raise ValidationError(f"{where}.{attribute}", "classification-scope",
                                      "grade a type or an attribute, not everything at once / 不能对全部数据统一分级")
            out[(type_name, attribute)] = grade
    return out


class Classifier:
    """Grades attributes of the types in ``types`` (declarations, :data:`DEFAULT_CLASSIFICATION` and
    ``overrides``; the order is in the module docstring)."""

    def __init__(self, types: TypeRegistry | None = None,
                 overrides: Mapping[tuple[str, str], Grade] | None = None) -> None:
        self.types = types
        self.overrides: dict[tuple[str, str], Grade] = dict(overrides or {})

    def explain(self, entity_type: str, attribute: str) -> Grade:
        """The grade of ``attribute`` on ``entity_type`` and the reason (``attribute="*"``: the type's own)."""
        declared = self._declared(entity_type)
        if attribute != ANY:
            for found in (self.overrides.get((entity_type, attribute)), self.overrides.get((ANY, attribute)),
                          declared.get(attribute), DEFAULT_CLASSIFICATION.get((entity_type, attribute)),
                          DEFAULT_CLASSIFICATION.get((ANY, attribute))):
                if found is not None:
                    return found
        for found in (self.overrides.get((entity_type, ANY)), declared.get(ANY),
                      DEFAULT_CLASSIFICATION.get((entity_type, ANY))):
            if found is not None:
                return found
        return UNCLASSIFIED

    def classify(self, entity_type: str, attribute: str) -> Classification:
        """The grade of ``attribute`` on ``entity_type``."""
        return self.explain(entity_type, attribute).grade

    def _declared(self, entity_type: str) -> Mapping[str, Grade]:
        if self.types is None or entity_type not in self.types:
            return {}
        return self.types.get(entity_type).classification

    def grades_of(self, entity: Entity) -> dict[str, Classification]:
        """Every attribute of ``entity`` (properties, relationships, geo-properties) → its grade."""
        names = [*entity.properties, *entity.relationships, *entity.geo]
        return {name: self.classify(entity.type, name) for name in names}

    def table(self, type_names: list[str]) -> list[dict[str, str]]:
        """The grades in force for ``type_names`` (each type's own and every attribute graded for it), as rows
        of type, attribute, grade, reason: what ``docs`` and the console show."""
        rows = []
        for name in type_names:
            attrs = {a for (t, a) in DEFAULT_CLASSIFICATION if t == name} | set(self._declared(name)) | \
                {a for (t, a) in self.overrides if t == name}
            for attribute in [ANY, *sorted(attrs - {ANY})]:
                g = self.explain(name, attribute)
                rows.append({"type": name, "attribute": attribute, "grade": g.grade, "reason": g.reason})
        return rows


DEFAULT_CLASSIFIER = Classifier()
"""The table alone (no types' declarations, no overrides)."""


def classifier_for(twin: Any) -> Classifier:
    """The classifier of ``twin`` (its ``classification`` attribute, set by the faces from the deployment's file);
    a twin without one gets one built from its types and kept."""
    found = getattr(twin, "classification", None)
    if isinstance(found, Classifier):
        return found
    made = Classifier(getattr(twin, "types", None))
    with contextlib.suppress(AttributeError):  # a read-only view: build it again next time
        twin.classification = made
    return made


def classify(entity_type: str, attribute: str, classifier: Classifier | None = None) -> Classification:
    """The grade of ``attribute`` on ``entity_type`` (by ``classifier``, default the table alone)."""
    return (classifier or DEFAULT_CLASSIFIER).classify(entity_type, attribute)


# -- masking -------------------------------------------------------------------------------------------------------
_ID_CARD = re.compile(r"\d{15}|\d{17}[\dXx]")
_PHONE = re.compile(r"\+?[\d\s\-*]{7,20}")
MASK = "*"


def mask_text(text: str) -> str:
    """De-identify ``text``: a phone number keeps its first 3 and last 4 characters (``138****1234``); anything
    else (names, ID numbers, e-mail addresses) its first character, the rest ``*``. Idempotent: masking a
    masked value changes nothing (an entity may be masked by the twin and again by an export)."""
    s = text.strip()
    if not s:
        return s
    # Digits or stars (a number masked before), ending in four digits: a phone number, masked or not.
    if not _ID_CARD.fullmatch(s) and _PHONE.fullmatch(s) and s[-4:].isdigit() and \
            sum(c.isdigit() or c == MASK for c in s) >= 7:
        return s[:3] + MASK * (len(s) - 7) + s[-4:]
    return s[0] + MASK * (len(s) - 1)


def mask_value(value: Any) -> Any:
    """``value`` de-identified: text by :func:`mask_text`, lists and objects item by item; numbers, booleans and
    anything else withheld (``None``): a masked number would still be read as a number."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, list | tuple):
        return [mask_value(v) for v in value]
    if isinstance(value, Mapping):
        return {k: mask_value(v) for k, v in value.items()}
    return None


@dataclass(frozen=True)
class Masking:
    """What :func:`mask_with_report` did to one entity: the attributes masked and those removed."""

    masked: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


def mask_with_report(entity: Entity, principal: Principal,
                     classifier: Classifier | None = None) -> tuple[Entity, Masking]:
    """:func:`mask`, and which attributes it masked and removed."""
    c = classifier or DEFAULT_CLASSIFIER
    see_personal = principal.can("data:personal")
    see_important = principal.can("data:important")
    if see_personal and see_important:
        return entity, Masking()
    masked: list[str] = []
    removed: list[str] = []
    props: dict[str, Property] = {}
    for name, prop in entity.properties.items():
        grade = c.classify(entity.type, name)
        if grade == "important" and not see_important:
            removed.append(name)
        elif grade == "personal" and not see_personal:
            masked.append(name)
            props[name] = prop.model_copy(update={"value": mask_value(prop.value)})
        else:
            props[name] = prop
    rels = {}
    for name, rel in entity.relationships.items():
        grade = c.classify(entity.type, name)
        # A target id names what it points at (urn:ngsi-ld:Person:zhang-wei): a personal one goes, as does an
        # important one, rather than pointing at something the caller cannot see.
        if (grade == "important" and not see_important) or (grade == "personal" and not see_personal):
            removed.append(name)
        else:
            rels[name] = rel
    geo = {}
    for name, geometry in entity.geo.items():
        grade = c.classify(entity.type, name)
        if (grade == "important" and not see_important) or (grade == "personal" and not see_personal):
            removed.append(name)  # a person's position is their whereabouts; a coarse shape would still be one
        else:
            geo[name] = geometry
    if not masked and not removed:
        return entity, Masking()
    return (entity.model_copy(update={"properties": props, "relationships": rels, "geo": geo}),
            Masking(tuple(masked), tuple(removed)))


def mask(entity: Entity, principal: Principal, classifier: Classifier | None = None) -> Entity:
    """``entity`` as ``principal`` may see it: ``personal`` property values masked unless it holds
    ``data:personal`` (personal relationships and geo-properties removed, a masked id or shape is no use);
    ``important`` attributes removed unless it holds ``data:important``. The entity itself is not copied when
    nothing changes. The twin's ``_present`` calls it for every entity it hands a caller."""
    return mask_with_report(entity, principal, classifier)[0]


__all__ = ["ANY", "DEFAULT_CLASSIFICATION", "DEFAULT_CLASSIFIER", "GRADES", "RESTRICTED", "UNCLASSIFIED",
           "Classifier", "Grade", "Masking", "check_declaration", "check_grade", "classifier_for", "classify",
           "mask", "mask_text", "mask_value", "mask_with_report", "parse_overrides"]
