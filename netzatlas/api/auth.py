"""API keys (hashed at rest) and what a caller may do.

Keys look like ``na_<prefix>_<secret>``; only the prefix, a salt and sha256(salt + secret) are stored.
Scopes: ``read`` (non-public layers and the change feed), ``write:<collection>`` or ``write:*``, ``admin``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

import psycopg

from netzatlas.errors import Forbidden, InvalidParameter, NotFound, Unauthorized

KNOWN_SCOPES = ("read", "admin")
READ_ONLY = ("gigabit_result", "funding_area_result", "coverage_hole_result")


@dataclass(frozen=True)
class Principal:
    """Who is calling: anonymous, or a key of an organization with scopes."""

    org: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    key_id: str | None = None
    name: str | None = None

    @property
    def anonymous(self) -> bool:
        return self.key_id is None

    @property
    def admin(self) -> bool:
        return "admin" in self.scopes

    def can_read_private(self) -> bool:
        return not self.anonymous

    def can_write(self, collection: str) -> bool:
        if collection in READ_ONLY:
            return False
        return self.admin or "write:*" in self.scopes or f"write:{collection}" in self.scopes

    def require_write(self, collection: str) -> None:
        if collection in READ_ONLY:
            raise Forbidden(f"{collection} holds analysis results and is read-only",
                            hint="run the analysis again through /processes to change it")
        if self.anonymous:
            raise Unauthorized("writing needs an API key", hint="send it as 'Authorization: Bearer <key>' or X-API-Key")
        if not self.can_write(collection):
            raise Forbidden(f"this key may not write {collection}",
                            hint=f"it has the scopes {', '.join(sorted(self.scopes)) or 'none'}")

    def require_owner(self, owner_org: str | None, collection: str) -> None:
        if not self.admin and owner_org != self.org:
            raise Forbidden(f"this {collection} feature belongs to {owner_org or 'no organization'}; "
                            f"a key of {self.org} may change only its own organization's assets")

    @property
    def actor(self) -> str:
        return "anonymous" if self.anonymous else f"{self.org}:{self.name or self.key_id}"


ANONYMOUS = Principal()


def _hash(salt: str, secret: str) -> str:
    return hashlib.sha256((salt + secret).encode()).hexdigest()


def validate_scopes(scopes: list[str], collections: list[str]) -> list[str]:
    for s in scopes:
        if s in KNOWN_SCOPES or s == "write:*":
            continue
        if s.startswith("write:") and s.split(":", 1)[1] in collections:
            continue
        raise InvalidParameter(f"unknown scope {s!r}",
                               hint="read, admin, write:* or write:<collection> with one of " + ", ".join(collections))
    return scopes


def create_key(conn: psycopg.Connection, org: str, scopes: list[str], name: str | None = None) -> str:
    """Create a key and return it (the only time the secret is shown)."""
    if conn.execute("SELECT 1 FROM registry.organization WHERE slug = %s", [org]).fetchone() is None:
        raise NotFound(f"unknown organization {org!r}", hint="create it with `netzatlas keys org-add`")
    prefix, secret, salt = secrets.token_hex(4), secrets.token_urlsafe(24), secrets.token_hex(8)
    conn.execute("INSERT INTO registry.api_key (prefix, salt, key_hash, org, name, scopes) VALUES (%s,%s,%s,%s,%s,%s)",
                 [prefix, salt, _hash(salt, secret), org, name, scopes])
    return f"na_{prefix}_{secret}"


def verify(conn: psycopg.Connection, token: str | None) -> Principal:
    """The principal for a key; anonymous without one; Unauthorized for an unknown or revoked key."""
    if not token:
        return ANONYMOUS
    parts = token.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != "na":
        raise Unauthorized("the API key is malformed", hint="keys look like na_xxxxxxxx_…")
    row = conn.execute("SELECT id, salt, key_hash, org, name, scopes, revoked_at FROM registry.api_key "
                       "WHERE prefix = %s", [parts[1]]).fetchone()
    if row is None or row["revoked_at"] is not None or not hmac.compare_digest(row["key_hash"],
                                                                              _hash(row["salt"], parts[2])):
        raise Unauthorized("the API key is unknown or revoked")
    return Principal(org=row["org"], scopes=frozenset(row["scopes"]), key_id=str(row["id"]), name=row["name"])


def token_from_headers(authorization: str | None, x_api_key: str | None) -> str | None:
    if x_api_key:
        return x_api_key
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value:
            return value.strip()
        if scheme.lower() == "basic" and value:  # clients that only do Basic (QGIS 3.22): the password is the key
            import base64
            import binascii

            try:
                return base64.b64decode(value.strip()).decode().partition(":")[2] or None
            except (binascii.Error, UnicodeDecodeError):
                raise Unauthorized("the Basic credentials are malformed") from None
        raise Unauthorized("unsupported Authorization header", hint="use 'Authorization: Bearer <key>'")
    return None
