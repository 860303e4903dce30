"""The team's own APIs behind the BFF (api.md §7): their configuration, and the credential each receives.

``config`` parses ``BFF_UPSTREAMS``; ``keys`` parses ``BFF_ASSERTION_KEYS``; ``assertions`` signs identity
assertions and publishes their keys; ``credentials`` picks what each upstream gets. The calls themselves go
through the one data plane, :mod:`app.proxy`, like the tenant's.
"""
