from datetime import date

from django.core.management.base import BaseCommand, CommandError

from insights.digest import send_quarterly_digests


class Command(BaseCommand):
    help = "Queue for each team lead the review of the quarter before today (once per quarter)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Print, send nothing.")
        parser.add_argument("--date", help="Act as if today were this day (YYYY-MM-DD).")

    def handle(self, *args, dry_run=False, date=None, **options):
        today = None
        if date:
            try:
                today = _parse(date)
            except ValueError as error:
                raise CommandError(
                    f"--date wants YYYY-MM-DD between 1970 and 2999: {error}"
                ) from None
        digests = send_quarterly_digests(today, dry_run=dry_run)
        verb = "Would queue" if dry_run else "Queued"
        for digest in digests:
            self.stdout.write(
                f"{verb} the {digest.period.label} review of {digest.team} for {digest.recipient}"
            )
        self.stdout.write(f"{verb} {len(digests)} quarterly review(s); they go out with the rest.")


def _parse(text: str) -> date:
    day = date.fromisoformat(text)
    if not 1970 <= day.year <= 2999:
        raise ValueError("year out of range")
    return day
