"""What the BFF tells operators: access log, JSON logs, metrics, request ids and per-request context."""

from app.observe.access import AccessMiddleware
from app.observe.logs import audit, configure_logging
from app.observe.metrics import Metrics
from app.observe.request_context import current_request_id
from app.observe.request_ids import new_request_id, valid_request_id

__all__ = [
    "AccessMiddleware",
    "Metrics",
    "audit",
    "configure_logging",
    "current_request_id",
    "new_request_id",
    "valid_request_id",
]
