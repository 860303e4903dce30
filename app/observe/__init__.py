"""What the BFF tells operators: access log, JSON logs, metrics, request ids, tracing.

A ground floor: nothing here imports the rest of the app above ``settings``; others hand it what to time or
trace. Callers import the module they need (``access``, ``logs``, ``metrics``, ``request_ids``, ``tracing``).
"""
