from django.core.management.base import BaseCommand

from incidents.quiet import send_quiet_reminders


class Command(BaseCommand):
    help = (
        "Remind the commander and communications lead of every open incident that has gone a "
        "whole interval (set per severity) without a status update. Safe to run often and in "
        "two places at once: each interval reminds once. Run it every minute or few. "
        "How each message went is in the admin's Deliveries."
    )

    def handle(self, *args, **options):
        reminders = send_quiet_reminders()
        for reminder in reminders:
            self.stdout.write(
                f"{reminder.incident.ref}: quiet for {reminder.quiet_minutes} min, reminded "
                f"{reminder.recipients.replace(chr(10), ', ') or 'nobody by e-mail'}"
            )
        self.stdout.write(f"{len(reminders)} quiet-incident reminder(s) sent.")
