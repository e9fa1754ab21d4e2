from django.core.management.base import BaseCommand

from actions.nags import send_nags


class Command(BaseCommand):
    help = (
        "Send today's reminders about overdue action items and waiting postmortems. Safe to run "
        "again: nobody is reminded twice on one day. Run it daily (Celery beat or cron)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Print who would be reminded of what, and by which channel; send nothing.",
        )

    def handle(self, *args, dry_run: bool, **options):
        report = send_nags(dry_run=dry_run)
        if not dry_run:
            self.stdout.write(str(report))
            return
        for plan in report.planned:
            self.stdout.write(plan)
        people = len(report.planned)
        self.stdout.write(
            f"Dry run: {people} {'person' if people == 1 else 'people'} would be "
            "reminded; nothing was sent."
        )
