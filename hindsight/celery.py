"""The Celery app: Redis as broker, Celery beat for the schedule."""

from __future__ import annotations

import os
from functools import cached_property
from zoneinfo import ZoneInfo

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hindsight.settings")

app = Celery("hindsight")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class ZonedCrontab(crontab):
    """A crontab whose hours are read in a time zone of its own rather than Celery's."""

    def __init__(
        self,
        minute="*",
        hour="*",
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        zone: str = "UTC",
        **kwargs,
    ):
        super().__init__(minute, hour, day_of_week, day_of_month, month_of_year, **kwargs)
        self.zone = zone

    def __reduce__(self):
        # Beat keeps its schedule in a pickled file: the zone must survive that.
        fields = (
            self._orig_minute,
            self._orig_hour,
            self._orig_day_of_week,
            self._orig_day_of_month,
            self._orig_month_of_year,
        )
        return (self.__class__, (*fields, self.zone), self._orig_kwargs)

    @cached_property
    def tz(self):
        return ZoneInfo(self.zone)


@app.on_after_configure.connect
def schedule_daily_runs(sender: Celery, **kwargs) -> None:
    from django.conf import settings

    sender.add_periodic_task(
        ZonedCrontab(
            hour=settings.HINDSIGHT_NAG_HOUR, minute=0, zone=settings.HINDSIGHT_NAG_TIME_ZONE
        ),
        sender.signature("actions.tasks.send_nags"),
        name="send reminders about overdue action items",
    )
    sender.add_periodic_task(
        ZonedCrontab(
            day_of_month=1,
            month_of_year="1,4,7,10",
            hour=settings.HINDSIGHT_NAG_HOUR,
            minute=30,
            zone=settings.HINDSIGHT_NAG_TIME_ZONE,
        ),
        sender.signature("insights.tasks.send_quarterly_digests"),
        name="send each team lead the review of the quarter that ended",
    )


@app.on_after_configure.connect
def schedule_delivery_sweep(sender: Celery, **kwargs) -> None:
    # Each delivery is handed to a worker when it is queued; the sweep sends what a lost task
    # left behind, and its reaper marks sends cut off midway.
    sender.add_periodic_task(
        60.0, sender.signature("kernel.tasks.deliver_due"), name="send deliveries left waiting"
    )


@app.on_after_configure.connect
def schedule_quiet_incident_checks(sender: Celery, **kwargs) -> None:
    # Each interval reminds once whatever the cadence: checking every minute only bounds how
    # late a reminder can be.
    sender.add_periodic_task(
        60.0,
        sender.signature("incidents.tasks.send_quiet_reminders"),
        name="remind about open incidents without a recent status update",
    )
