"""One base for every business-rule failure, with a stable machine-readable code."""

from typing import Any


class DomainError(Exception):
    """A refusal the user can act on: a stable `code`, a translated `message` saying what to do."""

    code = "domain_error"
    http_status = 400

    def __init__(
        self,
        message: str = "",
        *,
        code: str | None = None,
        extra: dict[str, Any] | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = str(message)
        if code:
            self.code = code
        if http_status:
            self.http_status = http_status
        self.extra = extra or {}

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "extra": self.extra}


class NotFound(DomainError):
    code = "not_found"
    http_status = 404
