"""The simulator's OAuth2 side: confidential apps, Authorize, token, revoke, userinfo, keys, controls."""
