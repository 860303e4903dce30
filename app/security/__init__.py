"""Request guards and rules: CSRF and Origin, size and time limits, the allow-list, header rules, client IP.

Callers import the module they need; ``app.settings`` imports ``allowlist`` (a pure parser) without loading
the rest.
"""
