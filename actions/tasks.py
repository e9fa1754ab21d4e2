"""Celery tasks: thin wrappers over the plain functions, owning only their retry policy."""

from __future__ import annotations

from celery import shared_task
from django.db import DatabaseError

from actions import nags


@shared_task(
    name="actions.tasks.send_nags",
    autoretry_for=(DatabaseError,),
    retry_backoff=60,
    max_retries=3,
)
def send_nags() -> str:
    """The daily reminder run. Running it twice the same day sends nothing twice."""
    return str(nags.send_nags())
