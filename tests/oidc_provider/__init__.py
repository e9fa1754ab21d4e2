"""A real OpenID Connect provider for the single sign-on tests (django-oidc-provider).

Its own small Django project with its own SQLite database, run in a subprocess on 127.0.0.1;
`start_provider()` in tests/incidents/test_single_sign_on.py sets it up and serves it.
"""
