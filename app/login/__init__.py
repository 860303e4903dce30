"""The login flows: the tenant's API login steps (flow and step shapes)."""
