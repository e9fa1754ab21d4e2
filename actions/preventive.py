"""Preventive action items from a premortem: the groups with most votes, each turned into
work with an owner and a due date.

Such an item follows up its premortem instead of an incident; from then on it is an action item
like any other: listed under "My action items", walked in the weekly review, reminded about
when overdue, read and changed through the API.
"""

from __future__ import annotations

from datetime import date, timedelta

from django import forms
from django.db import transaction
from django.utils import timezone

from actions.forms import Unsuffixed, active_people
from actions.models import ActionItem
from incidents.forms import PersonChoiceField
from incidents.policy import require_facilitate
from kernel.blocks import block_create
from kernel.kinds import next_position
from kernel.widgets import IsoDateField
from premortems.models import Premortem, ReasonGroup
from premortems.rounds import RoundRefused

DUE_WITHIN_DAYS = 3 * 366


class PreventiveItemForm(Unsuffixed, forms.Form):
    title = forms.CharField(label="Action item", max_length=300)
    owner = PersonChoiceField(queryset=active_people(), label="Owner")
    due_date = IsoDateField(label="Due date")

    def clean_title(self):
        title = self.cleaned_data["title"]
        if "\r" in title or "\n" in title:
            raise forms.ValidationError("Keep the action item on one line.")
        return title

    def clean_due_date(self):
        day = self.cleaned_data["due_date"]
        today = timezone.localdate()
        if day < today:
            raise forms.ValidationError("Pick today or a day after it.")
        if day > today + timedelta(days=DUE_WITHIN_DAYS):
            raise forms.ValidationError("Pick a day within the next three years.")
        return day


def preventive_item_create(
    *, premortem: Premortem, group: ReasonGroup, user, title: str, owner, due_date: date
) -> ActionItem:
    """A preventive item for one group, once the vote is done; open pages hear of it."""
    require_facilitate(user, premortem)
    with transaction.atomic():
        locked = Premortem.objects.select_for_update().get(pk=premortem.pk)
        if locked.phase != Premortem.Phase.DONE:
            raise RoundRefused("Turn groups into action items once the vote is done.")
        if group.premortem_id != locked.pk:
            raise RoundRefused("That group belongs to another premortem.")
        item = ActionItem(
            premortem=locked,
            premortem_group=group,
            title=title,
            owner=owner,
            due_date=due_date,
            kind=ActionItem.Kind.PREVENTIVE,
            created_by=user,
            position=next_position(locked.action_items.all()),
        )
        return block_create(block=item, user=user)
