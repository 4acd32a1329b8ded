"""SAML identity providers: ``/v2/saml-identity-providers`` and their ``role-mappings`` (alpha).

What Arize documents, and how the emulator holds to it:

- only an account admin of an Enterprise account may call any of it (403 otherwise);
- a configuration has exactly one metadata source, ``metadata_url`` or ``metadata_xml`` (422
  when both or neither); metadata that does not parse as an IdP ``EntityDescriptor``, or a URL
  that cannot be reached, is 400 (the emulator reaches no network: a host under the reserved
  ``.invalid`` domain stands for an unreachable one);
- default login needs all four ``default_*`` fields; with it off, the defaults are omitted and
  initial role mappings that let someone log in are required;
- file-managed configurations (made by the control plane, standing in for the deployment's
  config file) are read-only: every write answers 409 naming the migration path;
- mappings are kept in configuration order (creation order); an update keeps a mapping's place;
- a mapping change is atomic and may not remove the last mapping that lets users log in (an
  account role, needed while default login is off) or the last one that grants account
  ``ADMIN``: such a change answers 409 and changes nothing.

Applying mappings to a user at login is :mod:`emulator.arize.resources.saml_login`'s job.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import urlsplit

from emulator.arize.errors import BadRequest, Conflict, Forbidden, NotFound, UnprocessableEntity
from emulator.arize.models import SamlIdentityProvider, SamlRoleMapping, utcnow
from emulator.arize.pagination import Page
from emulator.arize.resources.memberships import Memberships
from emulator.arize.store import Caller, mutation, predefined

__all__ = ["ACCOUNT_ROLE_LEVEL", "DEFAULT_FIELDS", "SPACE_ROLE_LEVEL", "SamlIdentityProviders"]

ACCOUNT_ROLE_LEVEL = {"ADMIN": 3, "MEMBER": 2, "ANNOTATOR": 0}
SPACE_ROLE_LEVEL = {"ADMIN": 3, "MEMBER": 2, "READ_ONLY": 1, "ANNOTATOR": 0}
DEFAULT_FIELDS = (
    "default_account_role",
    "default_organization_id",
    "default_space_id",
    "default_space_role",
)
MAPPING_FIELDS = (
    "attribute_name",
    "attribute_value",
    "account_role",
    "space_id",
    "space_role",
    "project_id",
    "project_role_id",
)
_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_MIGRATION = (
    "create an API-managed configuration with the same settings, then remove the file-managed "
    "one from the deployment's configuration file"
)


def _local(tag: str) -> str:
    """An XML tag without its namespace (``{urn:...}EntityDescriptor`` → ``EntityDescriptor``)."""
    return tag.rsplit("}", 1)[-1]


def metadata_entity_id(metadata_url: str | None, metadata_xml: str | None) -> str:
    """Check the one metadata source and return the IdP's entity id (400 when unusable)."""
    if (metadata_url is None) == (metadata_xml is None):
        raise UnprocessableEntity("Give exactly one of metadata_url or metadata_xml.")
    if metadata_url is not None:
        parts = urlsplit(metadata_url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise BadRequest("metadata_url must be an http(s) URL of the IdP's metadata.")
        if parts.hostname == "invalid" or parts.hostname.endswith(".invalid"):
            raise BadRequest(f"The metadata URL could not be reached: {metadata_url}")
        return metadata_url
    try:
        root = ET.fromstring(str(metadata_xml))
    except ET.ParseError as exc:
        raise BadRequest(f"metadata_xml is not well-formed XML ({exc}).") from None
    entity_id = root.get("entityID")
    if _local(root.tag) != "EntityDescriptor" or not entity_id:
        raise BadRequest("metadata_xml must be an EntityDescriptor with an entityID.")
    if not any(_local(child.tag) == "IDPSSODescriptor" for child in root):
        raise BadRequest("metadata_xml describes no identity provider (no IDPSSODescriptor).")
    return entity_id


def grants_login(mapping: SamlRoleMapping) -> bool:
    """A mapping that gives an account role lets a user with its attribute value log in."""
    return mapping.account_role is not None


def grants_admin(mapping: SamlRoleMapping) -> bool:
    """A mapping that makes its users account admins."""
    return mapping.account_role == "ADMIN"


class SamlIdentityProviders(Memberships):
    """SAML configurations and their ordered role mappings."""

    # ------------------------------------------------------------------ checks

    def _require_saml_admin(self, caller: Caller) -> None:
        if not self.enterprise:
            raise Forbidden("SAML configuration is available to Enterprise accounts only.")
        self._require_account_admin(caller, "manage SAML configurations")

    def _saml_idp(self, idp_id: str) -> SamlIdentityProvider:
        return self._lookup(
            self.saml_idps, idp_id, kind="SamlIdentityProvider",
            label="SAML identity provider", field="idp_id",
        )

    def _writable_idp(self, caller: Caller, idp_id: str) -> SamlIdentityProvider:
        self._require_saml_admin(caller)
        idp = self._saml_idp(idp_id)
        if idp.file_managed:
            raise Conflict(
                f"SAML identity provider '{idp.id}' is file-managed and read-only through the "
                f"API; to manage it here, {_MIGRATION}."
            )
        return idp

    def saml_mappings_of(self, idp_id: str) -> list[SamlRoleMapping]:
        """The configuration's mappings in configuration order."""
        rows = self.saml_mappings.group_by("idp_id", _idp_id).get(idp_id, ())
        return sorted(rows, key=self._sort_key)

    def _check_domains(self, domains: list[str], *, exclude: str | None = None) -> list[str]:
        cleaned = [d.strip().lower() for d in domains]
        bad = [d for d in cleaned if not _DOMAIN_RE.match(d)]
        if bad:
            raise UnprocessableEntity(f"email_domains has invalid domains: {', '.join(bad)}.")
        if len(set(cleaned)) != len(cleaned):
            raise UnprocessableEntity("email_domains lists a domain twice.")
        for other in self.saml_idps.values():
            taken = set(other.email_domains) & set(cleaned)
            if other.id != exclude and taken:
                raise Conflict(
                    f"Domain '{sorted(taken)[0]}' is already claimed by SAML identity provider "
                    f"'{other.id}'."
                )
        return cleaned

    def _check_defaults(self, enabled: bool, defaults: dict[str, Any]) -> dict[str, Any]:
        given = {k: v for k, v in defaults.items() if v is not None}
        if not enabled:
            if given:
                raise UnprocessableEntity(
                    "With default login disabled, omit the default fields: "
                    + ", ".join(sorted(given))
                    + "."
                )
            return dict.fromkeys(DEFAULT_FIELDS)
        missing = [k for k in DEFAULT_FIELDS if k not in given]
        if missing:
            raise UnprocessableEntity(
                "Default login requires all four default fields; missing: "
                + ", ".join(missing)
                + "."
            )
        org = self._org(given["default_organization_id"], field="default_organization_id")
        space = self._space(given["default_space_id"], field="default_space_id")
        if space.org_id != org.id:
            raise UnprocessableEntity(
                "default_space_id must be a space of default_organization_id."
            )
        return given

    def _mapping_values(self, values: dict[str, Any]) -> dict[str, Any]:
        """Validate one mapping's fields against the account; return them normalised."""
        out = {k: values.get(k) for k in MAPPING_FIELDS}
        if (out["space_id"] is None) != (out["space_role"] is None):
            raise UnprocessableEntity("space_id and space_role go together.")
        if (out["project_id"] is None) != (out["project_role_id"] is None):
            raise UnprocessableEntity("project_id and project_role_id go together.")
        if out["account_role"] is None and out["space_id"] is None and out["project_id"] is None:
            raise UnprocessableEntity(
                "A mapping must grant an account role, a space role or a project role."
            )
        if out["space_id"] is not None:
            self._space(out["space_id"])
            role = out["space_role"]
            if role.get("type") == "CUSTOM":
                custom = self._role(str(role.get("id")), field="space_role.id")
                if custom.is_predefined:
                    raise UnprocessableEntity(
                        "space_role: give a predefined role by name, not by id."
                    )
                out["space_role"] = {"type": "CUSTOM", "id": custom.id}
            else:
                out["space_role"] = predefined(str(role.get("name")))
        if out["project_id"] is not None:
            self._project(out["project_id"])
            self._role(out["project_role_id"], field="project_role_id")
        return out

    def _check_required(
        self,
        idp: SamlIdentityProvider,
        before: list[SamlRoleMapping],
        after: list[SamlRoleMapping],
    ) -> None:
        """Refuse a change that removes the last login or admin mapping (409, nothing changed)."""
        login_needed = not idp.default_login_enabled
        if login_needed and any(map(grants_login, before)) and not any(map(grants_login, after)):
            raise Conflict(
                "This change would remove the last mapping that lets users log in (an account "
                "role) while default login is disabled; add another such mapping first."
            )
        if any(map(grants_admin, before)) and not any(map(grants_admin, after)):
            raise Conflict(
                "This change would remove the last mapping that grants account ADMIN; add "
                "another admin mapping first."
            )

    def _new_mapping(self, idp_id: str, values: dict[str, Any]) -> SamlRoleMapping:
        mapping_id, n = self.next_id("SamlRoleMapping")
        now = utcnow()
        return SamlRoleMapping(
            id=mapping_id, n=n, idp_id=idp_id, created_at=now, updated_at=now, **values
        )

    # ------------------------------------------------------------------ configurations

    def list_saml_idps(
        self, caller: Caller, *, limit: int | None, cursor: str | None
    ) -> Page[SamlIdentityProvider]:
        """GET /v2/saml-identity-providers: summaries, cursor-paged."""
        self._require_saml_admin(caller)
        return self._page_table(
            "saml_identity_providers", self.saml_idps, predicate=_always,
            limit=limit, cursor=cursor, filters={},
        )

    def get_saml_idp(self, caller: Caller, idp_id: str) -> SamlIdentityProvider:
        """GET /v2/saml-identity-providers/{idp_id}."""
        self._require_saml_admin(caller)
        return self._saml_idp(idp_id)

    @mutation("createSamlIdentityProvider", "POST /v2/saml-identity-providers")
    def create_saml_idp(
        self,
        caller: Caller,
        *,
        name: str,
        metadata_url: str | None,
        metadata_xml: str | None,
        email_domains: list[str],
        default_login_enabled: bool,
        defaults: dict[str, Any],
        sync_user_roles: bool,
        role_mappings: list[dict[str, Any]],
    ) -> SamlIdentityProvider:
        """POST /v2/saml-identity-providers: one metadata source, domains, login defaults."""
        self._require_saml_admin(caller)
        if not name.strip():
            raise BadRequest("name must not be blank.")
        entity_id = metadata_entity_id(metadata_url, metadata_xml)
        domains = self._check_domains(email_domains)
        chosen = self._check_defaults(default_login_enabled, defaults)
        values = [self._mapping_values(m) for m in role_mappings]
        if not default_login_enabled and not any(v["account_role"] for v in values):
            raise UnprocessableEntity(
                "With default login disabled, supply initial role_mappings, at least one of "
                "which grants an account role."
            )
        idp_id, n = self.next_id("SamlIdentityProvider")
        now = utcnow()
        idp = SamlIdentityProvider(
            id=idp_id, n=n, name=name.strip(), entity_id=entity_id, email_domains=domains,
            default_login_enabled=default_login_enabled, sync_user_roles=sync_user_roles,
            created_at=now, updated_at=now, metadata_url=metadata_url,
            metadata_xml=metadata_xml, **chosen,
        )
        self.saml_idps[idp_id] = idp
        for value in values:
            mapping = self._new_mapping(idp_id, value)
            self.saml_mappings[mapping.id] = mapping
        return idp

    @mutation("updateSamlIdentityProvider", "PATCH /v2/saml-identity-providers/{idp_id}")
    def update_saml_idp(
        self, caller: Caller, idp_id: str, *, changes: dict[str, Any]
    ) -> SamlIdentityProvider:
        """PATCH /v2/saml-identity-providers/{idp_id}: the supplied fields only."""
        idp = self._writable_idp(caller, idp_id)
        if not changes:
            raise BadRequest("Give at least one field to change.")
        for field in ("name", "email_domains", "default_login_enabled", "sync_user_roles"):
            if field in changes and changes[field] is None:
                raise UnprocessableEntity(f"{field} must not be null.")
        if "name" in changes and not changes["name"].strip():
            raise BadRequest("name must not be blank.")
        source = {k: changes[k] for k in ("metadata_url", "metadata_xml") if k in changes}
        entity_id = idp.entity_id
        if source:
            entity_id = metadata_entity_id(
                source.get("metadata_url"), source.get("metadata_xml")
            )
        domains = (
            self._check_domains(changes["email_domains"], exclude=idp.id)
            if "email_domains" in changes
            else idp.email_domains
        )
        enabled = changes.get("default_login_enabled", idp.default_login_enabled)
        merged = {
            k: changes[k] if k in changes else (getattr(idp, k) if enabled else None)
            for k in DEFAULT_FIELDS
        }
        chosen = self._check_defaults(enabled, merged)
        mappings = self.saml_mappings_of(idp.id)
        if not enabled and not any(map(grants_login, mappings)):
            raise Conflict(
                "Default login cannot be disabled: no role mapping grants an account role, so "
                "nobody could log in. Add such a mapping first."
            )
        if source:
            idp.metadata_url = source.get("metadata_url")
            idp.metadata_xml = source.get("metadata_xml")
            idp.entity_id = entity_id
        if "name" in changes:
            idp.name = changes["name"].strip()
        idp.email_domains = domains
        idp.default_login_enabled = enabled
        for key in DEFAULT_FIELDS:
            setattr(idp, key, chosen.get(key))
        if "sync_user_roles" in changes:
            idp.sync_user_roles = changes["sync_user_roles"]
        idp.updated_at = utcnow()
        return idp

    @mutation("deleteSamlIdentityProvider", "DELETE /v2/saml-identity-providers/{idp_id}")
    def delete_saml_idp(self, caller: Caller, idp_id: str) -> None:
        """DELETE /v2/saml-identity-providers/{idp_id}: with its mappings."""
        idp = self._writable_idp(caller, idp_id)
        for mapping in self.saml_mappings_of(idp.id):
            del self.saml_mappings[mapping.id]
        del self.saml_idps[idp.id]

    # ------------------------------------------------------------------ role mappings

    def _saml_mapping(self, idp: SamlIdentityProvider, mapping_id: str) -> SamlRoleMapping:
        mapping = self._lookup(
            self.saml_mappings, mapping_id, kind="SamlRoleMapping", label="SAML role mapping",
            field="mapping_id",
        )
        if mapping.idp_id != idp.id:
            raise NotFound(f"SAML role mapping '{mapping_id}' not found.")
        return mapping

    def list_saml_mappings(
        self, caller: Caller, idp_id: str, *, limit: int | None, cursor: str | None
    ) -> Page[SamlRoleMapping]:
        """GET .../role-mappings: in configuration order."""
        self._require_saml_admin(caller)
        idp = self._saml_idp(idp_id)
        return self._page(
            "saml_role_mappings", self.saml_mappings_of(idp.id),
            limit=limit, cursor=cursor, filters={"idp_id": idp.id},
        )

    def saml_mapping_position(self, mapping: SamlRoleMapping) -> int:
        """A mapping's 0-based place in its configuration's order."""
        return [m.id for m in self.saml_mappings_of(mapping.idp_id)].index(mapping.id)

    @mutation("createSamlRoleMapping", "POST /v2/saml-identity-providers/{idp_id}/role-mappings")
    def create_saml_mapping(
        self, caller: Caller, idp_id: str, *, values: dict[str, Any]
    ) -> SamlRoleMapping:
        """POST .../role-mappings: appended at the end of the configuration's order."""
        idp = self._writable_idp(caller, idp_id)
        mapping = self._new_mapping(idp.id, self._mapping_values(values))
        self.saml_mappings[mapping.id] = mapping
        return mapping

    @mutation(
        "updateSamlRoleMapping",
        "PATCH /v2/saml-identity-providers/{idp_id}/role-mappings/{mapping_id}",
    )
    def update_saml_mapping(
        self, caller: Caller, idp_id: str, mapping_id: str, *, changes: dict[str, Any]
    ) -> SamlRoleMapping:
        """PATCH .../role-mappings/{mapping_id}: supplied fields only; the place is kept."""
        idp = self._writable_idp(caller, idp_id)
        mapping = self._saml_mapping(idp, mapping_id)
        if not changes:
            raise BadRequest("Give at least one field to change.")
        for field in ("attribute_name", "attribute_value"):
            if field in changes and changes[field] is None:
                raise UnprocessableEntity(f"{field} must not be null.")
        current = {k: getattr(mapping, k) for k in MAPPING_FIELDS}
        values = self._mapping_values({**current, **changes})
        before = self.saml_mappings_of(idp.id)
        proposed = SamlRoleMapping(**{**mapping.__dict__, **values})
        after = [proposed if m.id == mapping.id else m for m in before]
        self._check_required(idp, before, after)
        for key, value in values.items():
            setattr(mapping, key, value)
        mapping.updated_at = utcnow()
        return mapping

    @mutation(
        "deleteSamlRoleMapping",
        "DELETE /v2/saml-identity-providers/{idp_id}/role-mappings/{mapping_id}",
    )
    def delete_saml_mapping(self, caller: Caller, idp_id: str, mapping_id: str) -> None:
        """DELETE .../role-mappings/{mapping_id}: refused if it is a required mapping."""
        idp = self._writable_idp(caller, idp_id)
        mapping = self._saml_mapping(idp, mapping_id)
        before = self.saml_mappings_of(idp.id)
        self._check_required(idp, before, [m for m in before if m.id != mapping.id])
        del self.saml_mappings[mapping.id]

    # ------------------------------------------------------------------ control plane

    def add_file_managed_saml_idp(
        self, *, name: str, metadata_url: str, email_domains: list[str],
        role_mappings: list[dict[str, Any]],
    ) -> SamlIdentityProvider:
        """Control plane: a configuration as the deployment's config file would declare it."""
        with self.lock:
            entity_id = metadata_entity_id(metadata_url, None)
            domains = self._check_domains(email_domains)
            values = [self._mapping_values(m) for m in role_mappings]
            idp_id, n = self.next_id("SamlIdentityProvider")
            now = utcnow()
            idp = SamlIdentityProvider(
                id=idp_id, n=n, name=name, entity_id=entity_id, email_domains=domains,
                default_login_enabled=False, sync_user_roles=False, created_at=now,
                updated_at=now, metadata_url=metadata_url, file_managed=True,
            )
            self.saml_idps[idp_id] = idp
            for value in values:
                mapping = self._new_mapping(idp_id, value)
                self.saml_mappings[mapping.id] = mapping
            self.changed()
            return idp


def _idp_id(mapping: SamlRoleMapping) -> str:
    return mapping.idp_id


def _always(_: object) -> bool:
    return True
