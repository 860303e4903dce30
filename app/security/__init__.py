"""Request guards and rules: CSRF and Origin, limits, the allow-list, header rules, client IP, our cookies.

Callers import the module they need; ``app.settings`` imports ``allowlist`` (a pure parser) without loading
the rest.
"""
