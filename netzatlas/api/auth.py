"""API keys (hashed at rest) and what a caller may do.

Keys look like ``na_<prefix>_<secret>``; only the prefix, a salt and sha256(salt + secret) are stored; a key may
carry an expiry. What a scope allows is decided in one place, :mod:`netzatlas.api.authz`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime

import psycopg

from netzatlas.errors import Forbidden, InvalidParameter, NotFound, Unauthorized

KNOWN_SCOPES = ("read", "read:confidential", "read:staff", "admin")


@dataclass(frozen=True)
class Principal:
    """Who is calling: anonymous, or a key of an organization with scopes."""

    org: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    key_id: str | None = None
    name: str | None = None
    prefix: str | None = None  # the key's prefix as `netzatlas keys list` shows it

    @property
    def anonymous(self) -> bool:
        return self.key_id is None

    @property
    def admin(self) -> bool:
        return "admin" in self.scopes

    def can_write(self, collection: str) -> bool:
        from netzatlas.api import authz

        return authz.can_write(self, collection)

    def require_write(self, collection: str) -> None:
        from netzatlas.api import authz

        if collection in authz.RESULT_COLLECTIONS:
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
        """Who the history records: ``org:name``, or ``org:prefix`` for a key without a name (as `keys list` shows
        them)."""
        return "anonymous" if self.anonymous else f"{self.org}:{self.name or self.prefix or self.key_id}"


ANONYMOUS = Principal()


def _hash(salt: str, secret: str) -> str:
    return hashlib.sha256((salt + secret).encode()).hexdigest()


def validate_scopes(scopes: list[str], collections: list[str]) -> list[str]:
    """The scopes, checked: known forms, and ``write:<c>`` only for an existing collection or result."""
    from netzatlas.api.authz import PROCESS_RECORDS, RESULT_COLLECTIONS

    targets = sorted(set(collections) | set(RESULT_COLLECTIONS) | set(PROCESS_RECORDS))
    for s in scopes:
        if s in KNOWN_SCOPES or s == "write:*":
            continue
        if s.startswith("write:") and s.split(":", 1)[1] in targets:
            continue
        raise InvalidParameter(f"unknown scope {s!r}", hint="read, read:confidential, read:staff, admin, write:* or "
                                                            "write:<collection> with one of " + ", ".join(targets))
    return scopes


def create_key(conn: psycopg.Connection, org: str, scopes: list[str], name: str | None = None,
               expires_at: datetime | None = None) -> str:
    """Create a key and return it (the only time the secret is shown); ``expires_at`` ends its validity."""
    if conn.execute("SELECT 1 FROM registry.organization WHERE slug = %s", [org]).fetchone() is None:
        raise NotFound(f"unknown organization {org!r}", hint="create it with `netzatlas keys org-add`")
    if expires_at is not None and expires_at <= datetime.now(UTC):
        raise InvalidParameter(f"the expiry {expires_at.isoformat()} is in the past")
    prefix, secret, salt = secrets.token_hex(4), secrets.token_urlsafe(24), secrets.token_hex(8)
    conn.execute("INSERT INTO registry.api_key (prefix, salt, key_hash, org, name, scopes, expires_at) "
                 "VALUES (%s,%s,%s,%s,%s,%s,%s)", [prefix, salt, _hash(salt, secret), org, name, scopes, expires_at])
    return f"na_{prefix}_{secret}"


def verify(conn: psycopg.Connection, token: str | None) -> Principal:
    """The principal for a key; anonymous without one; Unauthorized for an unknown, revoked or expired key."""
    if not token:
        return ANONYMOUS
    parts = token.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != "na" or not parts[1].isascii() or "\x00" in token:
        raise Unauthorized("the API key is malformed", hint="keys look like na_xxxxxxxx_…")
    row = conn.execute("SELECT id, salt, key_hash, org, name, scopes, revoked_at, expires_at, "
                       "expires_at IS NOT NULL AND expires_at <= now() AS expired FROM registry.api_key "
                       "WHERE prefix = %s", [parts[1]]).fetchone()
    if row is None or row["revoked_at"] is not None or not hmac.compare_digest(row["key_hash"],
                                                                              _hash(row["salt"], parts[2])):
        raise Unauthorized("the API key is unknown or revoked")
    if row["expired"]:
        raise Unauthorized(f"the API key expired on {row['expires_at']:%Y-%m-%d %H:%M %Z}",
                           hint="ask an administrator for a new key (netzatlas keys create … --expires …)")
    return Principal(org=row["org"], scopes=frozenset(row["scopes"]), key_id=str(row["id"]), name=row["name"],
                     prefix=parts[1])


def token_from_headers(authorization: str | None, x_api_key: str | None) -> str | None:
    """The key a request carries (X-API-Key, Bearer, or the password of Basic credentials), None without one.

    A key that cannot be one (a NUL or another control character, e.g. inside Basic credentials) is refused here
    with 401, before it reaches the database.
    """
    token: str | None = None
    if x_api_key:
        token = x_api_key
    elif authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value:
            token = value.strip()
        elif scheme.lower() == "basic" and value:  # clients that only do Basic (QGIS 3.22): the password is the key
            import base64

            try:  # ValueError: bad padding (binascii.Error) or non-ASCII text; UnicodeDecodeError: not UTF-8
                token = base64.b64decode(value.strip()).decode().partition(":")[2] or None
            except ValueError:
                raise Unauthorized("the Basic credentials are malformed",
                                   hint="send base64 of '<user>:<key>', or 'Authorization: Bearer <key>'") from None
        elif scheme.lower() == "token":  # OCPI's scheme: not an API key; the OCPI routes check it (api/ocpi/)
            token = None
        else:
            raise Unauthorized("unsupported Authorization header", hint="use 'Authorization: Bearer <key>'")
    if token is not None and not token.isprintable():
        raise Unauthorized("the API key contains a control character", hint="keys look like na_xxxxxxxx_…")
    return token
