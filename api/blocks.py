"""Saving a block of the document from the API exactly as its page does.

The page's own form validates the change (so the rules are the same), and the kind's update applies
it from the version the caller started from: history, merges, conflict copies and live events
follow as they do in the browser.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from api.core import form_errors
from incidents.models import Incident
from kernel.blocks import SaveResult, block_create
from kernel.kinds import kind_named


def _form_data(form) -> dict[str, Any]:
    """What the form would post unchanged: every field at its current value."""
    data = {}
    for name in form.fields:
        value = form.initial.get(name)
        if isinstance(value, list | tuple):
            value = [getattr(item, "pk", item) for item in value]
        data[name] = getattr(value, "pk", value)
    return data


def block_change(
    *, kind: str, incident: Incident, block: models.Model, changes: dict, base_version: int, user
) -> SaveResult:
    """Save the fields in `changes` (form field names, form values) from `base_version`."""
    kind_ = kind_named(kind)
    data = _form_data(kind_.form(instance=block))
    data.update(changes)
    data["base_version"] = base_version
    form = kind_.form(data, instance=kind_.get(incident, block.pk))
    if not form.is_valid():
        raise form_errors(form)
    sent = set(changes)
    result = kind_.update(
        block,
        base_version=base_version,
        user=user,
        **{name: value for name, value in form.cleaned_data.items() if name in sent},
    )
    if result.saved and kind_.after_save:
        kind_.after_save(result.block)
    return result


def block_add(*, kind: str, incident: Incident, block: models.Model, data: dict, user, **extra):
    """Add a block through the page's form for new blocks; `extra` sets fields it does not hold."""
    kind_ = kind_named(kind)
    form = kind_.new_form(data, instance=block)
    if not form.is_valid():
        raise form_errors(form)
    for name, value in extra.items():
        setattr(form.instance, name, value)
    return block_create(block=form.instance, user=user)
