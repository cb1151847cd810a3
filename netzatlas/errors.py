"""One error hierarchy for netzatlas.

Every error a user can cause is a :class:`NetzatlasError`. Subclasses also inherit the builtin
they resemble, so callers may catch either. The API maps these classes to HTTP status codes in
one place (:data:`HTTP_STATUS`).
"""

from __future__ import annotations

from dataclasses import dataclass


class NetzatlasError(Exception):
    """Root of all netzatlas errors. ``hint`` tells the user what to do."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(NetzatlasError, ValueError):
    """A setting is missing or wrong."""


class DatabaseUnavailable(NetzatlasError, ConnectionError):
    """The database cannot be reached or started."""


class MissingDependency(NetzatlasError, RuntimeError):
    """A system program or extension is missing; the message names the install command."""


class StorageUnavailable(NetzatlasError, OSError):
    """The server cannot write its files (disk full, quota, read-only): the run is undone; worth trying later."""


class InvalidInput(NetzatlasError, ValueError):
    """Input data or a parameter is invalid."""


class InvalidParameter(InvalidInput):
    """A parameter is out of range or of the wrong kind."""


class InvalidGeometry(InvalidInput):
    """A geometry is invalid, empty or in an unexpected place."""


class CRSError(InvalidInput):
    """A coordinate reference system is missing, unknown or evidently wrong."""


@dataclass
class Reject:
    """One rejected input row: where it was and why."""

    row: int | str
    reason: str
    external_id: str | None = None

    def __str__(self) -> str:
        ident = f" (id {self.external_id})" if self.external_id else ""
        return f"row {self.row}{ident}: {self.reason}"


class ImportRejected(InvalidInput):
    """An import was refused; nothing was written. ``rejects`` lists each row and reason."""

    def __init__(self, source: str, rejects: list[Reject], *, hint: str | None = None) -> None:
        self.source = source
        self.rejects = rejects
        shown = "; ".join(str(r) for r in rejects[:5])
        more = f" … and {len(rejects) - 5} more" if len(rejects) > 5 else ""
        super().__init__(
            f"{source}: {len(rejects)} row(s) rejected, nothing imported: {shown}{more}",
            hint=hint or "fix the rows or rerun with --skip-invalid to import only the valid rows",
        )


class FileFormatError(InvalidInput, OSError):
    """A file cannot be read: empty, truncated, wrong encoding or layout."""


class PayloadTooLarge(InvalidInput):
    """A request (its body, a line, a value, a geometry, its feature count) is larger than a declared limit."""


class ResultTooLarge(InvalidInput):
    """An answer (a vector tile) would be larger than its declared limit even after thinning."""


class NotFound(NetzatlasError, LookupError):
    """A collection, feature, job or record does not exist."""


class Conflict(NetzatlasError):
    """The resource changed since the caller read it (stale version / ETag)."""


class AlreadyExists(NetzatlasError):
    """A create names a resource that exists already (e.g. a feature's source + external_id)."""


class ConstraintViolation(NetzatlasError):
    """The database refused a write: a code not (or no longer) in its value list, a duplicate key, a check."""


class PreconditionRequired(NetzatlasError):
    """A write needs an If-Match header with the current ETag."""


class Unauthorized(NetzatlasError, PermissionError):
    """No or an unknown API key."""


class Forbidden(NetzatlasError, PermissionError):
    """The key is valid but may not do this."""


class TooManyRequests(NetzatlasError):
    """The caller already runs as much as it may at once (e.g. analysis jobs of one organization)."""


#: The one place where errors become HTTP status codes (most specific class first).
HTTP_STATUS: dict[type[NetzatlasError], int] = {
    NotFound: 404,
    Unauthorized: 401,
    Forbidden: 403,
    TooManyRequests: 429,
    Conflict: 412,
    AlreadyExists: 409,
    ConstraintViolation: 409,
    PreconditionRequired: 428,
    ImportRejected: 422,
    PayloadTooLarge: 413,
    InvalidInput: 400,
    ConfigError: 500,
    MissingDependency: 503,
    DatabaseUnavailable: 503,
    StorageUnavailable: 507,
    NetzatlasError: 500,
}


def http_status(exc: BaseException) -> int:
    """The HTTP status code for an error (500 for anything not from netzatlas)."""
    for cls in type(exc).__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]  # type: ignore[index]
    return 500
