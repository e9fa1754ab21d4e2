from __future__ import annotations

from django import template

from postmortems.coverage import Coverage, cause_coverage
from postmortems.models import Cause

register = template.Library()


@register.filter
def coverage(cause: Cause) -> Coverage:
    return cause_coverage(cause)
