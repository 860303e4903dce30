"""What the BFF tells operators: access log, JSON logs, metrics, request ids and per-request context."""
