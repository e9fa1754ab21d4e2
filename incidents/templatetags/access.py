"""What the page chrome offers a person, asked of the policy module."""

from __future__ import annotations

from django import template

from incidents import policy

register = template.Library()


@register.filter
def may_open_incidents(user) -> bool:
    return policy.can_open_incident(user)


@register.filter
def may_read_audit_log(user) -> bool:
    return policy.can_see_audit_log(user)
