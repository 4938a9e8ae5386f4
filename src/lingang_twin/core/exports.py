"""Governed data sharing (数据出境与对外提供): the one guard every export passes, and its approval requests.

Every path that lets data leave the platform in bulk — ``lingang-twin export``, the API's export routes, the
console's downloads, report files — goes through :class:`ExportGovernance`:

1. the caller holds ``export:read`` (a report of one's own scope needs ``readings:read`` instead:
   :meth:`ExportGovernance.export_document`);
2. what is written is what the caller may see: entities masked by :func:`~lingang_twin.core.classification.mask`
   (personal values masked, important attributes removed unless the caller holds ``data:personal`` /
   ``data:important``); time series of a personal or important attribute are refused to a caller who may not see
   them (a masked number is no number);
3. data graded ``personal`` or ``important`` going to a recipient outside the district (``recipient`` named) needs
   an approved :class:`ExportRequest` first: who asks and why, the recipient, the legal basis
   (:data:`LEGAL_BASES`), the types and grades it covers, who approved it (a holder of ``export:approve`` who is not
   the requester), when, and until when. A de-identified (masked) value is still personal information (PIPL
   art. 73(3)–(4)): masking does not lift the need for an approval;
4. every export, allowed or refused, is an :class:`~lingang_twin.core.access.AuditEvent` ``export`` saying what
   left: how many entities or readings, their types, attributes and grades, what was masked or removed, the
   recipient and the approval. Refusals are checked before the first byte is written.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from lingang_twin.core.access import CLASSIFICATIONS, AccessDenied, AuditEvent, AuditSink, Principal
from lingang_twin.core.classification import RESTRICTED, Classifier, mask_with_report
from lingang_twin.core.errors import ConflictError, NotFoundError, ValidationError
from lingang_twin.core.model import Entity

if TYPE_CHECKING:
    from lingang_twin.core.store import SeriesGroup, SeriesQuery

log = logging.getLogger("lingang_twin.audit")

LEGAL_BASES: dict[str, tuple[str, str, str]] = {
    "cac-security-assessment": (
        "数据出境安全评估", "CAC security assessment",
        "PIPL art. 38(1), 40; DSL art. 31; Measures for Security Assessment of Outbound Data Transfers (CAC 2022)"),
    "pi-certification": ("个人信息保护认证", "personal information protection certification", "PIPL art. 38(2)"),
    "standard-contract": (
        "个人信息出境标准合同", "standard contract for outbound personal information",
        "PIPL art. 38(3); Measures on the Standard Contract for Outbound Transfer of Personal Information (CAC 2023)"),
    "ftz-negative-list": (
        "自贸试验区负面清单之外的数据", "data outside the free trade zone's negative list",
        "Provisions on Promoting and Regulating Cross-border Data Flows (CAC 2024) art. 6; the Lingang special "
        "area's data lists"),
    "separate-consent": ("个人单独同意（向其他处理者提供）", "separate consent to provide to another handler",
                         "PIPL art. 13(1), 23"),
    "contract-necessity": ("订立、履行个人作为一方的合同所必需", "necessary for a contract with the individual",
                           "PIPL art. 13(2)"),
    "statutory-duty": ("履行法定职责或法定义务", "statutory duty or obligation", "PIPL art. 13(3); DSL art. 35"),
}
"""Legal bases an export request may rest on: key → (中文, English, source)."""

RequestStatus = Literal["pending", "approved", "rejected"]
DEFAULT_VALID_DAYS = 30
MAX_VALID_DAYS = 365
MAX_TEXT = 2000
RESTRICTED_ORDER = ("personal", "important")


@dataclass(frozen=True)
class ExportRequest:
    """A request to let data graded ``classifications`` of ``types`` leave the district for ``recipient``: who
    asked (``requester``), why (``reason``), on which ``legal_basis`` (:data:`LEGAL_BASES`), and its decision —
    ``status``, ``decided_by`` (never the requester), ``decided_at``, ``expires_at``, ``note``."""

    id: str
    requester: str
    reason: str
    recipient: str
    legal_basis: str
    types: tuple[str, ...]
    classifications: tuple[str, ...]
    requested_at: datetime
    status: RequestStatus = "pending"
    decided_by: str | None = None
    decided_at: datetime | None = None
    expires_at: datetime | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able, instants in ISO 8601."""
        out: dict[str, Any] = {k: getattr(self, k) for k in self.__dataclass_fields__}
        for k in ("requested_at", "decided_at", "expires_at"):
            out[k] = out[k].isoformat() if out[k] is not None else None
        out["types"] = list(self.types)
        out["classifications"] = list(self.classifications)
        return out


@runtime_checkable
class ExportRequestStore(Protocol):
    """Where export requests are kept (``stores`` implement it beside the twin's data)."""

    def add_request(self, request: ExportRequest) -> None:
        """Keep a new request."""

    def get_request(self, request_id: str) -> ExportRequest:
        """The request ``request_id``; NotFoundError if there is none."""

    def list_requests(self, *, status: str | None = None, requester: str | None = None,
                      limit: int = 1000) -> list[ExportRequest]:
        """Requests, newest first, optionally of one status or one requester."""

    def decide_request(self, request_id: str, *, status: RequestStatus, decided_by: str, decided_at: datetime,
                       expires_at: datetime | None, note: str | None) -> ExportRequest:
        """Record the decision on a pending request, atomically; ConflictError if it was decided already."""


@dataclass(frozen=True)
class ExportCall:
    """Who exports (``principal``), for whom (``recipient``: ``None`` for use inside the district, else the
    organisation outside it that receives the data) and under which approved request (``approval``)."""

    principal: Principal
    recipient: str | None = None
    approval: str | None = None


@dataclass(frozen=True)
class ExportManifest:
    """What left (or would have): the audit record's detail."""

    kind: str
    format: str
    target: str | None
    count: int = 0
    types: tuple[str, ...] = ()
    attributes: tuple[str, ...] = ()
    classifications: tuple[str, ...] = ()
    masked: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    recipient: str | None = None
    approval: str | None = None

    def detail(self) -> dict[str, Any]:
        """JSON-able, for the audit event."""
        return {"kind": self.kind, "format": self.format, "target": self.target, "count": self.count,
                "types": list(self.types), "attributes": list(self.attributes),
                "classifications": list(self.classifications), "masked": list(self.masked),
                "removed": list(self.removed), "recipient": self.recipient, "approval": self.approval,
                "outside_district": self.recipient is not None}


def _text(value: Any, field: str, *, required: bool = True, limit: int = MAX_TEXT) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationError(field, "required", f"{field} is required / 缺少 {field}")
        return None
    if not isinstance(value, str):
        raise ValidationError(field, "string", f"{field} must be text / {field} 须为文本")
    if len(value) > limit or any(ord(c) < 32 and c not in "\t\n" for c in value):
        raise ValidationError(field, "text", f"{field}: at most {limit} characters, no control characters "
                              f"/ 至多 {limit} 字符，不含控制字符")
    return value.strip()


def same_recipient(a: str, b: str) -> bool:
    """Whether two recipient names are the same organisation (case and spacing aside)."""
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


class ExportGovernance:
    """The guard of every export and the keeper of export requests (see the module docstring).

    ``audit``: the audit log, or a function giving it (the faces' accounts set ``twin.audit`` after the twin is
    opened); without one, events go to the ``lingang_twin.audit`` logger. ``clock``: the time now, aware."""

    def __init__(self, classifier: Classifier, requests: ExportRequestStore, *,
                 audit: AuditSink | Callable[[], AuditSink | None] | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.classifier = classifier
        self.requests = requests
        self._audit = audit
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))

    # -- audit ---------------------------------------------------------------------------------------------------
    @property
    def audit(self) -> AuditSink | None:
        """The audit log events go to (``None``: the logger)."""
        if self._audit is None or isinstance(self._audit, AuditSink):
            return self._audit
        return self._audit()

    def _record(self, who: Principal, action: str, target: str | None, outcome: Literal["ok", "denied", "failed"],
                detail: dict[str, Any]) -> None:
        event = AuditEvent(actor=who.subject, action=action, target=target, outcome=outcome, detail=detail,
                           roles=tuple(sorted(who.roles)), at=self.clock())
        sink = self.audit
        if sink is None:
            log.info("%s %s %s %s %s", event.actor, event.action, event.target, event.outcome, dict(event.detail))
        else:
            sink.record(event)

    def _deny(self, who: Principal, permission: str, message: str, action: str, target: str | None,
              detail: dict[str, Any]) -> AccessDenied:
        self._record(who, action, target, "denied", {**detail, "refused": message, "missing": permission})
        return AccessDenied(who, permission, message)

    # -- requests ------------------------------------------------------------------------------------------------
    def request(self, principal: Principal, *, reason: str, recipient: str, legal_basis: str,
                types: Iterable[str], classifications: Iterable[str]) -> ExportRequest:
        """File a request to export data of ``types`` graded ``classifications`` (``personal``, ``important``) to
        ``recipient``. Needs ``export:read``. Bad input is a ValidationError naming the field and the rule."""
        if not principal.can("export:read"):
            raise self._deny(principal, "export:read", f"{principal.subject} lacks permission export:read "
                             "/ 无权限申请导出", "export.request", None, {})
        reason_ = _text(reason, "reason")
        recipient_ = _text(recipient, "recipient", limit=200)
        if legal_basis not in LEGAL_BASES:
            raise ValidationError("legal_basis", "legal-basis-choice",
                                  f"{legal_basis!r} is not a legal basis; choose one of {', '.join(LEGAL_BASES)} "
                                  "/ 法律依据无效", value=legal_basis)
        type_list = tuple(dict.fromkeys(types))
        if not type_list:
            raise ValidationError("types", "required", "name the entity types the export covers / 须列出实体类型")
        known = self.classifier.types
        for i, t in enumerate(type_list):
            if known is not None and t not in known:
                raise ValidationError("types", "unknown-type", f"unknown entity type {t!r} / 未知实体类型",
                                      value=t, index=i)
        grades = tuple(dict.fromkeys(classifications))
        if not grades or not set(grades) <= RESTRICTED:
            raise ValidationError("classifications", "classification-restricted",
                                  "an export request covers personal and/or important data (other grades need "
                                  "none) / 仅个人信息和重要数据需要申请", value=list(grades))
        assert reason_ is not None and recipient_ is not None
        req = ExportRequest(id=f"exp-{uuid.uuid4().hex[:12]}", requester=principal.subject, reason=reason_,
                            recipient=recipient_, legal_basis=legal_basis, types=type_list,
                            classifications=tuple(g for g in RESTRICTED_ORDER if g in grades),
                            requested_at=self.clock())
        self.requests.add_request(req)
        self._record(principal, "export.request", req.id, "ok", req.to_dict())
        return req

    def approve(self, principal: Principal, request_id: str, *, valid_days: int = DEFAULT_VALID_DAYS,
                note: str | None = None) -> ExportRequest:
        """Approve a pending request for ``valid_days`` (1–365) from now. Needs ``export:approve``, and the
        approver is never the requester (four eyes)."""
        if not isinstance(valid_days, int) or not 1 <= valid_days <= MAX_VALID_DAYS:
            raise ValidationError("valid_days", "range", f"valid_days is 1–{MAX_VALID_DAYS} / 有效期须为 1–"
                                  f"{MAX_VALID_DAYS} 天", value=valid_days)
        return self._decide(principal, request_id, "approved", note, valid_days)

    def reject(self, principal: Principal, request_id: str, *, note: str | None = None) -> ExportRequest:
        """Reject a pending request (``note``: why). Needs ``export:approve``; not by the requester."""
        return self._decide(principal, request_id, "rejected", note, None)

    def _decide(self, principal: Principal, request_id: str, status: RequestStatus, note: str | None,
                valid_days: int | None) -> ExportRequest:
        action = "export.approve" if status == "approved" else "export.reject"
        note_ = _text(note, "note", required=False)
        if not principal.can("export:approve"):
            raise self._deny(principal, "export:approve", f"{principal.subject} lacks permission export:approve "
                             "/ 无权限审批导出", action, request_id, {})
        req = self.requests.get_request(request_id)
        if req.requester == principal.subject:
            raise self._deny(principal, "export:approve", "a requester cannot decide their own export request "
                             "/ 申请人不能审批自己的申请", action, request_id, {"requester": req.requester})
        if req.status != "pending":
            raise ConflictError(f"export request {request_id} is already {req.status} / 该申请已处理")
        now = self.clock()
        expires = now + timedelta(days=valid_days) if valid_days is not None else None
        decided = self.requests.decide_request(request_id, status=status, decided_by=principal.subject,
                                               decided_at=now, expires_at=expires, note=note_)
        self._record(principal, action, request_id, "ok", decided.to_dict())
        return decided

    def list_requests(self, principal: Principal, *, status: str | None = None) -> list[ExportRequest]:
        """Requests the caller may see: all of them with ``export:approve`` or ``audit:read``, else its own
        (``export:read``)."""
        if status is not None and status not in ("pending", "approved", "rejected"):
            raise ValidationError("status", "status-choice", f"{status!r}: choose pending, approved or rejected "
                                  "/ 状态无效", value=status)
        if principal.can("export:approve") or principal.can("audit:read"):
            return self.requests.list_requests(status=status)
        if not principal.can("export:read"):
            raise AccessDenied(principal, "export:read")
        return self.requests.list_requests(status=status, requester=principal.subject)

    def get(self, principal: Principal, request_id: str) -> ExportRequest:
        """One request, if the caller may see it (as :meth:`list_requests`)."""
        req = self.requests.get_request(request_id)
        if not (principal.can("export:approve") or principal.can("audit:read") or
                (principal.can("export:read") and req.requester == principal.subject)):
            raise NotFoundError("export request", request_id)  # not even whether it exists
        return req

    # -- exports -------------------------------------------------------------------------------------------------
    def _check_approval(self, call: ExportCall, manifest: ExportManifest, action: str) -> None:
        """Refuse (audited) a restricted export to a recipient outside the district without a matching, approved,
        unexpired request of this caller."""
        restricted = sorted(set(manifest.classifications) & RESTRICTED)
        if call.recipient is None or not restricted:
            return
        who = call.principal
        detail = manifest.detail()
        zh = "、".join(CLASSIFICATIONS[g][0] for g in restricted)

        def deny(why: str) -> AccessDenied:
            return self._deny(who, "export:approval", f"{why} / 向区外提供{zh}须有有效审批", action,
                              manifest.target, detail)

        if call.approval is None:
            raise deny(f"exporting {', '.join(restricted)} data to {call.recipient!r} needs an approved export "
                       "request (lingang-twin exports request)")
        try:
            req = self.requests.get_request(call.approval)
        except NotFoundError:
            raise deny(f"no export request {call.approval!r}") from None
        if req.status != "approved":
            raise deny(f"export request {req.id} is {req.status}, not approved")
        if req.requester != who.subject:
            raise deny(f"export request {req.id} was made by {req.requester}, not {who.subject}")
        if not same_recipient(req.recipient, call.recipient):
            raise deny(f"export request {req.id} is for {req.recipient!r}, not {call.recipient!r}")
        if req.expires_at is None or req.expires_at <= self.clock():
            raise deny(f"export request {req.id} expired at {req.expires_at.isoformat() if req.expires_at else '?'}")
        extra_types = sorted(set(manifest.types) - set(req.types))
        if extra_types:
            raise deny(f"export request {req.id} does not cover the types {', '.join(extra_types)}")
        extra_grades = sorted(set(restricted) - set(req.classifications))
        if extra_grades:
            raise deny(f"export request {req.id} does not cover {', '.join(extra_grades)} data")

    def _require(self, call: ExportCall, permission: str, manifest: ExportManifest) -> None:
        if not call.principal.can(permission):
            raise self._deny(call.principal, permission, f"{call.principal.subject} lacks permission {permission} "
                             f"/ 无权限导出: {permission}", "export", manifest.target, manifest.detail())

    def _finish(self, call: ExportCall, manifest: ExportManifest, write: Callable[[], int]) -> ExportManifest:
        try:
            count = write()
        except BaseException as err:
            self._record(call.principal, "export", manifest.target, "failed",
                         {**manifest.detail(), "error": type(err).__name__})
            raise
        done = replace(manifest, count=count)
        self._record(call.principal, "export", manifest.target, "ok", done.detail())
        return done

    def plan_entities(self, call: ExportCall, entities: Sequence[Entity], *, format: str = "geojson",
                      target: str | None = None) -> tuple[list[Entity], ExportManifest]:
        """The entities as the caller may export them (masked) and the manifest of what they hold; nothing is
        checked or recorded (see :meth:`export_entities`)."""
        shown: list[Entity] = []
        attributes: set[str] = set()
        grades: set[str] = set()
        masked: set[str] = set()
        removed: set[str] = set()
        for e in entities:
            m, what = mask_with_report(e, call.principal, self.classifier)
            shown.append(m)
            masked.update(f"{e.type}.{a}" for a in what.masked)
            removed.update(f"{e.type}.{a}" for a in what.removed)
            for name, grade in self.classifier.grades_of(m).items():
                attributes.add(f"{e.type}.{name}")
                grades.add(grade)
        manifest = ExportManifest(kind="entities", format=format, target=target, count=len(shown),
                                  types=tuple(sorted({e.type for e in shown})), attributes=tuple(sorted(attributes)),
                                  classifications=_ordered(grades), masked=tuple(sorted(masked)),
                                  removed=tuple(sorted(removed)), recipient=call.recipient, approval=call.approval)
        return shown, manifest

    def export_entities(self, call: ExportCall, entities: Sequence[Entity], write: Callable[[list[Entity]], Any],
                        *, format: str = "geojson", target: str | None = None) -> ExportManifest:
        """Export ``entities`` through ``write`` (which writes the masked entities it is given): checks
        ``export:read`` and the approval before ``write`` is called, and records the ``export`` event (``ok``,
        ``denied`` or ``failed``) with what left."""
        shown, manifest = self.plan_entities(call, entities, format=format, target=target)
        self._require(call, "export:read", manifest)
        self._check_approval(call, manifest, "export")

        def run() -> int:
            write(shown)
            return len(shown)

        return self._finish(call, manifest, run)

    def export_readings(self, call: ExportCall, groups: Sequence[SeriesGroup], query: SeriesQuery,
                        write: Callable[[], int], *, format: str, target: str | None = None) -> ExportManifest:
        """Export the raw readings of ``query`` through ``write`` (which returns how many it wrote); ``groups``
        are the series the query covers (``Twin.series_groups``: entity types, no readings read). A personal or
        important series is refused to a caller who may not see it (a masked number is no number); otherwise as
        :meth:`export_entities`."""
        types = tuple(sorted({g.entity_type for g in groups}))
        grades = {t: self.classifier.classify(t, query.attribute) for t in types}
        manifest = ExportManifest(kind="readings", format=format, target=target, types=types,
                                  attributes=tuple(f"{t}.{query.attribute}" for t in types),
                                  classifications=_ordered(set(grades.values())), recipient=call.recipient,
                                  approval=call.approval)
        self._require(call, "export:read", manifest)
        for t, grade in grades.items():
            needed = {"personal": "data:personal", "important": "data:important"}.get(grade)
            if needed is not None and not call.principal.can(needed):
                raise self._deny(call.principal, needed, f"{t}.{query.attribute} is {grade} data; exporting its "
                                 f"readings needs {needed} / 导出该序列需要权限 {needed}", "export", target,
                                 manifest.detail())
        self._check_approval(call, manifest, "export")
        return self._finish(call, manifest, write)

    def export_document(self, call: ExportCall, *, kind: str, types: Iterable[str], classifications: Iterable[str],
                        write: Callable[[], int], format: str, target: str | None = None,
                        permission: str = "readings:read") -> ExportManifest:
        """Export a document made of data the caller may read (a monthly energy report of its own scope): needs
        ``permission`` (not ``export:read``: a tenant downloads its own report), checks the approval as any export
        when it holds restricted grades for a recipient outside, and records the ``export`` event. ``write``
        returns the size written (bytes or rows)."""
        manifest = ExportManifest(kind=kind, format=format, target=target, types=tuple(sorted(set(types))),
                                  classifications=_ordered(set(classifications)), recipient=call.recipient,
                                  approval=call.approval)
        self._require(call, permission, manifest)
        self._check_approval(call, manifest, "export")
        return self._finish(call, manifest, write)


def _ordered(grades: set[str]) -> tuple[str, ...]:
    from lingang_twin.core.classification import GRADES

    return tuple(g for g in GRADES if g in grades)


__all__ = ["DEFAULT_VALID_DAYS", "LEGAL_BASES", "MAX_VALID_DAYS", "ExportCall", "ExportGovernance",
           "ExportManifest", "ExportRequest", "ExportRequestStore", "same_recipient"]
