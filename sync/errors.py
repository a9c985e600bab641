"""The error family every connector raises (design.md: "Clients are thin and typed"); the engine decides
what to do with each (retry, dead-letter, review) by type alone, never by parsing messages."""
from __future__ import annotations


class IntegrationError(Exception):
    """Base class: a call to PropertyWare or ServiceFusion did not succeed."""

    #: which remote system raised it: "propertyware" or "servicefusion"
    system: str = ""
    #: whether repeating the same call later may succeed
    retryable: bool = False
    #: the SOAP fault's code and string, set only on errors made from a PropertyWare fault
    faultcode: str
    faultstring: str

    def __init__(self, message: str, *, system: str = "", operation: str = "", status: int | None = None,
                 detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.system = system or self.system
        self.operation = operation
        self.status = status
        self.detail = detail

    def __str__(self) -> str:
        where = "/".join(p for p in (self.system, self.operation) if p)
        return f"{where}: {self.message}" if where else self.message


class TransientError(IntegrationError):
    """Timeouts, resets, 5xx, maintenance pages: the same call may succeed later."""

    retryable = True


class RateLimited(TransientError):
    """The remote refused the call for exceeding its rate limit."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class AuthError(IntegrationError):
    """Credentials were refused (after any token renewal the client is allowed)."""


class RemoteValidationError(IntegrationError):
    """The remote rejected the payload; ``fields`` lists ``{"field", "message"}`` entries."""

    def __init__(self, message: str, *, fields: list[dict] | None = None, **kw) -> None:
        super().__init__(message, **kw)
        self.fields = list(fields or [])

    def __str__(self) -> str:
        base = super().__str__()
        if not self.fields:
            return base
        return base + " (" + "; ".join(f"{f.get('field')}: {f.get('message')}" for f in self.fields) + ")"


class DuplicateRecord(RemoteValidationError):
    """The remote refused a create because it already holds that record (R34): the write is skipped, not
    retried. Clients raise it from the remote's own wording; the sync dispatches on the type."""


class PermanentError(IntegrationError):
    """Repeating the call will not help (a SOAP fault, a 4xx other than the ones above)."""


class NotFound(PermanentError):
    """The record does not exist on the remote."""


class AlreadyClosed(PermanentError):
    """PropertyWare refused an edit because the work order is already closed."""


class MalformedRecord(PermanentError):
    """One record of a reply could not be parsed: its fields are missing or of the wrong kind. The client
    reports it and goes on with the rest; the caller logs it and must not move its cursor past it."""

    def __init__(self, message: str, *, excerpt: str = "", record_key: str = "", modified=None, **kw) -> None:
        super().__init__(message, **kw)
        #: the raw record, truncated and with secrets scrubbed
        self.excerpt = excerpt
        #: the record's id as sent, when it had one
        self.record_key = record_key
        #: the record's own modified time, when readable (an aware datetime), else None
        self.modified = modified

    def __str__(self) -> str:
        return f"{super().__str__()}: {self.excerpt}" if self.excerpt else super().__str__()


class MalformedReply(PermanentError):
    """A reply not shaped as the API documents: a page that is not an object, items that are not a list,
    no paging meta; or a paged read that reached its page cap. The step fails; no cursor moves."""


class AmbiguousWriteError(IntegrationError):
    """A non-idempotent write may or may not have been committed (timeout, reset, 5xx after sending).

    The caller must look the record up by its external reference before writing again.
    """

    retryable = False
