from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from postmortems.picture import incident_picture as draw

register = template.Library()


@register.simple_tag
def incident_picture(source, versions=None) -> SafeString:
    """`{% incident_picture incident %}`, or a reader snapshot (stakeholder page, PDF).
    `versions`: the timeline's entries as (id, version), if the page has read them."""
    return draw(source, versions)
