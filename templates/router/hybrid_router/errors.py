"""What clients are told when a request fails.

Upstream error text can name internal addresses, providers, model ids and keys' owners,
so with ``hygiene.generic_errors`` the client gets a generic message for its status and the
request id; the router log keeps the full error under the same id. The router's own
refusals (an adapter whose engines cannot take the request, a frontier budget) are
composed here from settings and counters only, so they are always shown in full.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

REQUEST_ID_HEADER = "x-hybrid-request-id"

_GENERIC: Mapping[int, str] = {
    400: "The request was rejected as invalid (for example, longer than the model's context or a parameter it does not take).",
    401: "Authentication failed.",
    403: "This key may not make this request.",
    404: "The requested model or route does not exist.",
    408: "No tier answered in time.",
    413: "The request is too large.",
    422: "The request was rejected as invalid.",
    429: "Too many requests: try again shortly.",
}


def generic_message(status: int, request_id: str | None) -> str:
    if status in _GENERIC:
        text = _GENERIC[status]
    elif 400 <= status < 500:
        text = "The request was rejected."
    elif status == 504:
        text = "No tier answered in time."
    else:
        text = "The router could not get an answer from any tier."
    return f"{text} Request id: {request_id}." if request_id else text


@dataclass(frozen=True)
class ClientError:
    status: int
    message: str
    #: Seconds, for a Retry-After header.
    retry_after: int | None = None


#: Refusal reasons (state.Refusal) that mean an engine is full rather than out of service.
SATURATED = frozenset({"rate", "waiting", "kv", "running"})


def adapter_refusal(adapter: str, reasons: Mapping[str, str], request_id: str | None) -> ClientError:
    """An adapter with fallback policy `none` whose engines could not take the request:
    429 when they are full (retry shortly), 503 when they are out of service or failed it."""
    suffix = f" Request id: {request_id}." if request_id else ""
    if any(r in SATURATED for r in reasons.values()):
        return ClientError(
            429,
            f"Adapter '{adapter}' is at capacity: its engines are full, and its fallback policy is 'none' "
            f"(no other model answers for it). Retry shortly.{suffix}",
            retry_after=5,
        )
    return ClientError(
        503,
        f"Adapter '{adapter}' is unavailable: its engines are out of rotation or failed this request, and its "
        f"fallback policy is 'none' (no other model answers for it).{suffix}",
        retry_after=30,
    )


@dataclass(frozen=True)
class BudgetState:
    provider: str
    spent_usd: float
    budget_usd: float


def budget_refusal(blocked: Sequence[BudgetState], override_tag: str, request_id: str | None) -> ClientError:
    parts = ", ".join(f"{b.provider} (${b.spent_usd:.2f} of ${b.budget_usd:.2f})" for b in blocked)
    suffix = f" Request id: {request_id}." if request_id else ""
    return ClientError(
        429,
        f"Frontier spend limit reached for today (UTC) for {parts}. Requests tagged '{override_tag}' may exceed it.{suffix}",
        retry_after=3600,
    )
