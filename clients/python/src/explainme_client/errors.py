"""gRPC failures as Python exceptions that keep the status code and the server's message."""

from __future__ import annotations

import grpc


class ExplainmeError(Exception):
    """A call the service refused or could not answer.

    `code` is the gRPC status (``grpc.StatusCode.NOT_FOUND``, ...), `message` the server's
    own words (which name the field at fault for INVALID_ARGUMENT).
    """

    def __init__(self, code: grpc.StatusCode, message: str):
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message


class NotFound(ExplainmeError):
    """An unknown model, explainer, cohort or case."""


class InvalidArgument(ExplainmeError):
    """A request the service cannot accept as it is (a bad label, a broken image)."""


class FailedPrecondition(ExplainmeError):
    """A call out of order (explain before any fit, a cohort without cases)."""


class ResourceExhausted(ExplainmeError):
    """A message above the server's size limit or an operation over its memory budget."""


_BY_CODE = {
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhausted,
}


def from_rpc_error(error: grpc.RpcError) -> ExplainmeError:
    """The exception for a failed call."""
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    message = error.details() if hasattr(error, "details") else str(error)
    return _BY_CODE.get(code, ExplainmeError)(code, message or "")
