"""Prepare the test provider's database: `python -m tests.oidc_provider.bootstrap SPEC_JSON`.

SPEC_JSON holds the client ({"client_id", "client_secret", "redirect_uri"}) and the people
({"username", "password", "email", "first_name", "last_name", "groups"}). A fresh RS256 key is
made on every run.
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.oidc_provider.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import Group, User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from oidc_provider.models import Client, ResponseType  # noqa: E402


def main(spec: dict) -> None:
    call_command("migrate", verbosity=0)
    call_command("creatersakey")
    client = Client.objects.create(
        name="Hindsight",
        client_type="confidential",
        client_id=spec["client"]["client_id"],
        client_secret=spec["client"]["client_secret"],
        jwt_alg="RS256",
        require_consent=False,
        reuse_consent=True,
    )
    client.redirect_uris = [spec["client"]["redirect_uri"]]
    client.save()
    client.response_types.add(ResponseType.objects.get(value="code"))
    for person in spec["people"]:
        user = User.objects.create_user(
            username=person["username"],
            password=person["password"],
            email=person["email"],
            first_name=person["first_name"],
            last_name=person["last_name"],
        )
        for name in person["groups"]:
            user.groups.add(Group.objects.get_or_create(name=name)[0])


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
