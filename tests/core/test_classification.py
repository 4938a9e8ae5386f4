"""Classification (数据分级): the defaults and their reasons, types' declarations, the deployment's overrides (and a
bad one refused whole), and masking for each role."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from governance_fixtures import BUILDING, DRIVER, PHONE, PLATE, VEHICLE, entities, who
from lingang_twin.app import load_classification, open_twin
from lingang_twin.core.access import CLASSIFICATIONS, ROLES, SYSTEM
from lingang_twin.core.classification import (
    DEFAULT_CLASSIFICATION,
    UNCLASSIFIED,
    Classifier,
    classify,
    mask,
    mask_text,
    parse_overrides,
)
from lingang_twin.core.errors import ValidationError
from lingang_twin.core.model import Entity
from lingang_twin.core.types import TypeRegistry, register_type
from lingang_twin.settings import Settings


@pytest.fixture(scope="module")
def full() -> Classifier:
    twin = open_twin(None)
    try:
        return twin.classification
    finally:
        twin.close()


def test_every_default_names_a_grade_and_a_reason() -> None:
    for key, g in DEFAULT_CLASSIFICATION.items():
        assert g.grade in CLASSIFICATIONS, key
        assert len(g.reason) > 20, key  # a source or a judgement, not a placeholder


def test_every_installed_type_is_graded_on_purpose(full: Classifier) -> None:
    assert full.types is not None and len(full.types) >= 15
    for t in full.types:
        assert full.explain(t.name, "*") != UNCLASSIFIED, t.name


@pytest.mark.parametrize(("etype", "attribute", "grade"), [
    ("District", "*", "public"),
    ("Building", "floorArea", "internal"),
    ("Building", "occupants", "sensitive"),
    ("Building", "contactPhone", "personal"),  # a personal name wherever it appears
    ("Building", "gridConnectionCapacity", "important"),
    ("Meter", "reading", "sensitive"),
    ("Enterprise", "creditCode", "public"),
    ("Enterprise", "legalRepresentative", "personal"),
    ("Vehicle", "vehiclePlateIdentifier", "personal"),  # the mobility pack's declaration
    ("Vehicle", "driverName", "personal"),
    ("Vehicle", "seats", "internal"),
    ("ParkingSpot", "occupied", "public"),
    ("HydrogenStation", "storageLevel", "sensitive"),
    ("NoSuchType", "anything", "internal"),  # unclassified: internal until graded
])
def test_defaults(full: Classifier, etype: str, attribute: str, grade: str) -> None:
    assert full.classify(etype, attribute) == grade


def test_the_table_alone_knows_no_pack_declaration() -> None:
    # Without the type registry the pack's grade of the plate is unknown: the type's declaration is what grades it.
    assert classify("Vehicle", "vehiclePlateIdentifier") == "internal"
    assert classify("Vehicle", "driverName") == "personal"


def test_overrides_from_the_deployment_file_win(tmp_path: Path) -> None:
    path = tmp_path / "grades.json"
    path.write_text(json.dumps({
        "Building": {"occupants": "personal", "*": "sensitive"},
        "Vehicle": {"vehiclePlateIdentifier": {"grade": "internal", "reason": "fleet plates only"},
                    "lon": "personal"},
        "*": {"badgeNumber": "personal"},
    }), encoding="utf-8")
    twin = open_twin(None, Settings(classification_file=path))
    try:
        c = twin.classification
        assert c.classify("Building", "occupants") == "personal"
        assert c.classify("Building", "height") == "sensitive"  # the type's grade, overridden
        assert c.classify("Building", "contactPhone") == "personal"  # attribute rules still beat the type's
        assert c.explain("Vehicle", "vehiclePlateIdentifier").reason == "fleet plates only"
        assert c.classify("Vehicle", "lon") == "personal"
        assert c.classify("Space", "badgeNumber") == "personal"
        assert c.classify("Meter", "reading") == "sensitive"  # untouched
    finally:
        twin.close()


@pytest.mark.parametrize(("raw", "field", "rule"), [
    ({"Building": {"floorArea": "internal", "occupants": "secret"}}, "classification.Building.occupants",
     "classification-grade"),
    ({"Building": {"occupants": {"grade": "top", "reason": "x"}}}, "classification.Building.occupants.grade",
     "classification-grade"),
    ({"Bulding": {"occupants": "personal"}}, "classification.Bulding", "unknown-type"),
    ({"Building": "personal"}, "classification.Building", "object"),
    ({"*": {"*": "public"}}, "classification.*.*", "classification-scope"),
    (["Building"], "classification", "object"),
])
def test_a_bad_override_names_the_field_and_rule_and_applies_nothing(tmp_path: Path, raw: object, field: str,
                                                                      rule: str) -> None:
    twin = open_twin(None)
    try:
        before = twin.classification
        path = tmp_path / "bad.json"
        path.write_text(json.dumps(raw), encoding="utf-8")
        with pytest.raises(ValidationError) as err:
            load_classification(twin, Settings(classification_file=path))
        assert (err.value.field, err.value.rule) == (field, rule)
        assert twin.classification is before
        assert twin.classification.classify("Building", "floorArea") == "internal"
        assert twin.classification.classify("Building", "occupants") == "sensitive"
    finally:
        twin.close()
    with pytest.raises(ValidationError) as err:
        open_twin(None, Settings(classification_file=path))  # the faces refuse to start on it
    assert err.value.rule == rule


def test_an_unreadable_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "grades.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        open_twin(None, Settings(classification_file=path))
    assert (err.value.field, err.value.rule) == ("classification_file", "config-file")


def test_a_type_declares_its_own_grades_and_a_bad_one_is_refused() -> None:
    reg = TypeRegistry()
    register_type(reg, "Beehive", classification={"*": ("public", "hives are on the park map"),
                                                  "keeperPhone": ("personal", "PIPL art. 4")})
    c = Classifier(reg)
    assert c.classify("Beehive", "weight") == "public"
    assert c.explain("Beehive", "keeperPhone").reason == "PIPL art. 4"
    with pytest.raises(ValidationError) as err:
        register_type(reg, "Wasp", classification={"sting": ("lethal", "x")})
    assert (err.value.field, err.value.rule) == ("classification.sting", "classification-grade")
    assert "Wasp" not in reg
    assert parse_overrides({"Beehive": {"weight": "internal"}}, reg) == {
        ("Beehive", "weight"): parse_overrides({"Beehive": {"weight": "internal"}})[("Beehive", "weight")]}


# -- masking ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "masked"), [
    (PHONE, "138****1234"), ("+86 138 1234 1234", "+86**********1234"), ("021-68281234", "021*****1234"),
    (DRIVER, "张*"), ("欧阳娜娜", "欧***"), ("110101199003071234", "1" + "*" * 17),
    ("zhang@example.com", "z" + "*" * 16), (PLATE, "沪*******"), ("", ""),
])
def test_mask_text_keeps_what_identifies_nobody_and_is_idempotent(text: str, masked: str) -> None:
    assert mask_text(text) == masked
    assert mask_text(masked) == masked


@pytest.fixture(scope="module")
def sample(full: Classifier) -> list[Entity]:
    twin = open_twin(None)
    try:
        return twin.validate(entities())
    finally:
        twin.close()


@pytest.mark.parametrize("role", sorted(ROLES))
def test_masking_for_each_role(full: Classifier, sample: list[Entity], role: str) -> None:
    p = who(f"someone-{role}", role)
    building, vehicle = (mask(e, p, full) for e in sample)
    personal, important = p.can("data:personal"), p.can("data:important")
    assert personal == important == (role == "admin")  # only the administrator holds them by default
    assert vehicle.value("vehiclePlateIdentifier") == (PLATE if personal else "沪*******")
    assert vehicle.value("driverName") == (DRIVER if personal else "张*")
    assert building.value("contactPhone") == (PHONE if personal else "138****1234")
    assert ("gridConnectionCapacity" in building.properties) is important
    # What is not personal or important is shown as it is, to every role that may read the entity at all.
    assert building.value("floorArea") == 120000 and building.value("occupants") == 800
    assert vehicle.value("seats") == 12 and vehicle.value("name") == "无人驾驶小巴 00"


def test_the_two_permissions_are_separate(full: Classifier, sample: list[Entity]) -> None:
    building = sample[0]
    only_personal = who("hr", "planner", grants={"planner": ["data:personal"]})
    shown = mask(building, only_personal, full)
    assert shown.value("contactPhone") == PHONE and "gridConnectionCapacity" not in shown.properties
    only_important = who("grid", "planner", grants={"planner": ["data:important"]})
    shown = mask(building, only_important, full)
    assert shown.value("contactPhone") == "138****1234" and shown.value("gridConnectionCapacity") == 10000


def test_masking_changes_nothing_when_nothing_is_graded_high(full: Classifier, sample: list[Entity]) -> None:
    plain = sample[0].model_copy(update={"properties": {"name": sample[0].properties["name"]}})
    assert mask(plain, who("op", "operator"), full) is plain
    assert mask(sample[1], SYSTEM, full) is sample[1]


def test_personal_relationships_and_numbers_are_withheld(full: Classifier) -> None:
    v = Entity.model_validate({"id": VEHICLE, "type": "Vehicle",
                               "properties": {"idNumber": "110101199003071234", "phone": 13812341234, "seats": 12},
                               "relationships": {"driver": "urn:ngsi-ld:Person:zhang-wei", "containedIn": BUILDING}})
    shown = mask(v, who("op", "operator"), full)
    assert shown.value("idNumber") == "1" + "*" * 17 and shown.value("seats") == 12
    assert "phone" in shown.properties and shown.value("phone") is None  # a masked number would still read as one
    assert "driver" not in shown.relationships and shown.target("containedIn") == BUILDING
