from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from api.models import ApiToken
from api.tokens import MAX_DAYS, api_token_create


class Command(BaseCommand):
    help = "Make an API token for a user and print it (its last line is the token)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--scope", choices=ApiToken.Scope.values, default=ApiToken.Scope.READ)
        parser.add_argument("--name", default="Made on the command line")
        parser.add_argument("--days", type=int, default=None, help="Expire after this many days.")

    def handle(self, *args, username, scope, name, days, **options):
        User = get_user_model()
        try:
            user = User.objects.get(**{User.USERNAME_FIELD: username})
        except User.DoesNotExist:
            raise CommandError(f"No user called {username!r}.") from None
        if days is not None and not 1 <= days <= MAX_DAYS:
            raise CommandError(f"--days takes 1 to {MAX_DAYS}.")
        row, token = api_token_create(user=user, name=name[:100], scope=scope, days=days)
        expiry = f"expires {row.expires_at:%Y-%m-%d %H:%M} UTC" if row.expires_at else "no expiry"
        self.stdout.write(f"Token {row.name!r} for {username}, scope {scope}, {expiry}.")
        self.stdout.write("It is shown only now; store it somewhere safe.")
        self.stdout.write(token)
