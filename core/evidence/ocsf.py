"""Every stored evidence record as an OCSF 1.7 IAM event, built and validated by pydantic-ocsf.

pydantic-ocsf builds its models from the official OCSF schema export it ships (1.0 to 1.7), so
an event that constructs here has the class, activity, ``type_uid`` and required attributes
the schema asks for. Classes used:

- 3001 Account Change: user invited (Create), user deleted (Delete), user key revoked or
  rotated (Other, named);
- 3005 User Access Management: roles granted (Assign Privileges) or unbound (Revoke);
- 3006 Group Management: a user put in a space (Add User), a space created (Create);
- anything else (custom roles, project restriction, service keys) as 3005 Other, named.

A refused or expired request keeps the class and activity of the change it asked for, with
``status_id`` Failure and the outcome as the status detail. The record's chain hash is the
event's ``metadata.uid``: the SIEM's idempotency key.
"""

from __future__ import annotations

from typing import Any

from ocsf.v1_7_0.events import AccountChange, GroupManagement, UserAccess
from pydantic import BaseModel

from core.evidence.record import EvidenceOutcome, StoredRecord

OCSF_VERSION = "1.7.0"
PRODUCT = {"name": "arize-runbooks", "vendor_name": "arize-runbooks"}

_ACCOUNT, _ACCESS, _GROUP = 3001, 3005, 3006
_OTHER = 99

#: action → (class, activity id)
_ACTIVITY: dict[str, tuple[int, int]] = {
    "invite-user": (_ACCOUNT, 1),  # Create
    "delete-user": (_ACCOUNT, 6),  # Delete
    "revoke-key": (_ACCOUNT, _OTHER),
    "rotate-key": (_ACCOUNT, _OTHER),
    "replace-key": (_ACCOUNT, _OTHER),
    "set-org-role": (_ACCESS, 1),  # Assign Privileges
    "bind-role": (_ACCESS, 1),
    "rebind-role": (_ACCESS, 1),
    "unbind-role": (_ACCESS, 2),  # Revoke Privileges
    "set-space-role": (_GROUP, 3),  # Add User
    "create-space": (_GROUP, 6),  # Create
}
_MODELS: dict[int, type[BaseModel]] = {
    _ACCOUNT: AccountChange,
    _ACCESS: UserAccess,
    _GROUP: GroupManagement,
}


def classify(action: str) -> tuple[int, int]:
    """The OCSF class uid and activity id of a change's action."""
    return _ACTIVITY.get(action, (_ACCESS, _OTHER))


def _privilege(change: dict[str, Any]) -> list[str]:
    for field in ("role", "account_role", "space_role"):
        value = change.get(field)
        if isinstance(value, str) and value:
            return [value]
    return [str(change.get("action", "access"))]


def to_ocsf(stored: StoredRecord) -> dict[str, Any]:
    """The OCSF event of a stored record, validated, as JSON-ready data (``None``s left out).

    Raises:
        pydantic.ValidationError: the event does not fit its OCSF class (a bug in the mapping).
    """
    record = stored.record
    class_uid, activity_id = classify(record.action)
    times = record.timestamps
    when = times.verified or times.applied or times.approved or stored.recorded_at
    status_id = 1 if record.outcome.succeeded else 2
    person = record.user
    user = {"email_addr": person, "name": person} if person else {"name": record.subject}
    # The actor is who authorised the change: its first approver, else who asked for it.
    approvers = record.approval.approvers if record.approval else []
    actor_user = approvers[0] if approvers else record.requested_by
    event: dict[str, Any] = {
        "class_uid": class_uid,
        "category_uid": 3,
        "activity_id": activity_id,
        "severity_id": 1 if status_id == 1 else 3,
        "time": int(when.timestamp() * 1000),
        "status_id": status_id,
        "status_detail": record.outcome.value,
        "message": f"{record.runbook}: {record.target} — {record.outcome.value}",
        "metadata": {
            "version": OCSF_VERSION,
            "product": PRODUCT,
            "uid": stored.hash,
            "correlation_uid": record.run_id,
            "logged_time": int(stored.recorded_at.timestamp() * 1000),
        },
        "user": user,
        "unmapped": {
            "evidence_seq": stored.seq,
            "evidence_prev_hash": stored.prev_hash,
            "runbook": record.runbook,
            "action": record.action,
            "plan_hash": record.plan_hash,
            "trigger_source": record.trigger.source,
            "trigger_event_id": record.trigger.event_id,
            "trigger_signed": record.trigger.signed,
            "run_url": record.run_url,
        },
    }
    if activity_id == _OTHER:
        event["activity_name"] = record.action
    if actor_user:
        event["actor"] = {"user": {"name": actor_user}}
    if class_uid == _ACCESS:
        event["privileges"] = _privilege(record.change)
    if class_uid == _GROUP:
        space = record.change.get("space") or record.change.get("name") or record.target
        event["group"] = {"name": str(space), "uid": record.change.get("space_id")}
    if record.outcome in (EvidenceOutcome.REFUSED, EvidenceOutcome.EXPIRED):
        event["unmapped"]["request_outcome"] = record.outcome.value
    model = _MODELS[class_uid].model_validate(event)
    return model.model_dump(mode="json", exclude_none=True, by_alias=True)
