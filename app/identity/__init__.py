"""The CyberArk Identity tenant: its two clients (logins, proxy) and our typed view of its login protocol.

Only this package knows the tenant's field names. Callers import the module they need:
``client.TenantClient`` (logins), ``upstream.ProxyUpstream`` (the proxy's data plane), ``models`` (the
login protocol's shapes), ``oauth.OAuthClient`` (the OAuth2 app).
"""
