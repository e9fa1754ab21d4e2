"""The blocks of the postmortem document, registered with the kernel.

The incident's details and its timeline entries are rows of the incidents app, but the only
page that edits them in place is this document, so their kinds are registered here, next to
the sections, causes and whys they are shown with.
"""

from __future__ import annotations

from functools import lru_cache

from django.db import connection
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.utils import timezone

from incidents.editing import incident_update, timeline_entry_update
from incidents.forms import IncidentHeaderForm, NewTimelineEntryForm, TimelineEntryForm
from incidents.models import Incident, TimelineEntry
from kernel.blocks import updater
from kernel.kinds import (
    LIST_ITEM,
    BlockKind,
    Searchable,
    described,
    next_position,
    register,
)
from postmortems.blameless import ANALYSIS_SECTIONS
from postmortems.editing import (
    accepted_risk_update,
    cause_update,
    conflict_copy_keep,
    section_update,
    why_update,
)
from postmortems.forms import (
    AcceptedRiskForm,
    CauseForm,
    ImageCaptionForm,
    NewAcceptedRiskForm,
    NewCauseForm,
    NewWhyForm,
    SectionForm,
    WhyForm,
)
from postmortems.models import AcceptedRisk, Cause, ConflictCopy, Image, Section, Why
from postmortems.outlines import postmortem_sync_due

DOCUMENT = "postmortems/document.html"


def _new_cause(incident, request):
    postmortem = incident.postmortem
    return Cause(postmortem=postmortem, position=next_position(postmortem.causes.all()))


def _new_why(incident, request):
    cause_id = request.POST.get("cause") or request.GET.get("cause")
    cause = get_object_or_404(Cause, pk=cause_id or 0, postmortem__incident=incident)
    return Why(cause=cause, position=next_position(cause.whys.all()))


def _new_risk(incident, request):
    cause_id = request.POST.get("cause") or request.GET.get("cause")
    if not str(cause_id or "").isdigit() or len(str(cause_id)) > 12:
        cause_id = 0
    cause = get_object_or_404(Cause, pk=cause_id, postmortem__incident=incident)
    return AcceptedRisk(cause=cause, position=next_position(cause.accepted_risks.all()))


def _images_stamp(host) -> str:
    """What a block shows of its images: an image added, removed or captioned changes it."""
    return ",".join(f"{image.pk}.{image.version}" for image in host.images.all())


def _order_by(model, alias: str) -> str:
    """The model's own ordering (Meta.ordering, plain fields) as SQL over `alias`."""
    columns = []
    for name in model._meta.ordering:
        column = model._meta.get_field(name.lstrip("-")).column
        columns.append(f"{alias}.{column}{' DESC' if name.startswith('-') else ''}")
    return ", ".join(columns)


@lru_cache(maxsize=1)
def _entries_sql() -> str:
    """Each timeline entry of an incident, in the page's order, with its images (in theirs)."""
    quote = connection.ops.quote_name
    return (
        f"SELECT entry.id, entry.version, image.id, image.version "
        f"FROM {quote(TimelineEntry._meta.db_table)} entry "
        f"LEFT JOIN {quote(Image._meta.db_table)} image ON image.entry_id = entry.id "
        f"WHERE entry.incident_id = %s "
        f"ORDER BY {_order_by(TimelineEntry, 'entry')}, {_order_by(Image, 'image')}"
    )


def _light_entries(incident) -> list[tuple[int, int, str]]:
    """Each entry with `_images_stamp`, in one query written out (the page asks it on every
    load, and the ORM's building of it cost more than running it)."""
    with connection.cursor() as cursor:
        cursor.execute(_entries_sql(), [incident.pk])
        rows = cursor.fetchall()
    entries: dict[int, tuple[int, list[str]]] = {}
    for pk, version, image, image_version in rows:
        images = entries.setdefault(pk, (version, []))[1]
        if image is not None:
            images.append(f"{image}.{image_version}")
    return [(pk, version, ",".join(images)) for pk, (version, images) in entries.items()]


@lru_cache(maxsize=1)
def _cause_parts_sql() -> str:
    """What `_light_causes` reads of the causes' whys, accepted risks, why images and action
    items, as (cause, part, id, version, place). Written out rather than as a union of
    querysets: the page asks it on every load, and building that union cost it five times
    what running it does."""
    quote = connection.ops.quote_name
    cause = quote(Cause._meta.db_table)
    action_item = Cause._meta.get_field("action_items").related_model

    def under_cause(model, part: str) -> str:
        return (
            f"SELECT child.cause_id, '{part}', child.id, child.version, child.position "
            f"FROM {quote(model._meta.db_table)} child JOIN {cause} cause "
            f"ON cause.id = child.cause_id WHERE cause.postmortem_id = %s"
        )

    images = (
        f"SELECT why.cause_id, 'i', image.id, image.version, image.why_id "
        f"FROM {quote(Image._meta.db_table)} image JOIN {quote(Why._meta.db_table)} why "
        f"ON why.id = image.why_id WHERE image.postmortem_id = %s"
    )
    parts = (under_cause(Why, "w"), under_cause(AcceptedRisk, "r"), images)
    return " UNION ALL ".join((*parts, under_cause(action_item, "a")))


def _light_causes(incident) -> list[tuple[int, int, str]]:
    """Each cause with a stamp of what its part of the page shows besides the cause itself:
    its category's name, its whys and their images, its accepted risks and the action items
    addressing it (each by id, version and place), read in two queries."""
    postmortem = incident.postmortem.pk
    with connection.cursor() as cursor:
        cursor.execute(_cause_parts_sql(), [postmortem] * 4)
        children = cursor.fetchall()
    shown: dict[int, list[str]] = {}
    for cause_id, part, pk, version, place in sorted(children):
        shown.setdefault(cause_id, []).append(f"{part}{pk}.{version}.{place}")
    causes = Cause.objects.filter(postmortem=postmortem)
    return [
        (pk, version, f"{category or ''}|{','.join(shown.get(pk, ()))}")
        for pk, version, category in causes.values_list("pk", "version", "category__name")
    ]


def _cause_ids(incident):
    return Cause.history.filter(postmortem_id=incident.postmortem.pk).values("id")


INCIDENT = BlockKind(
    name="incident",
    model=Incident,
    label="Incident details",
    template=DOCUMENT,
    partial="header",
    blocks=lambda incident: Incident.objects.filter(pk=incident.pk),
    incident_id=lambda incident: incident.pk,
    history=lambda incident: Incident.history.filter(id=incident.pk),
    tracked_fields=(
        "title",
        "severity_id",
        "status",
        "started_at",
        "detected_at",
        "mitigated_at",
        "resolved_at",
        "owner_id",
        "team_id",
        "customer_facing",
        "near_miss",
        "private",
    ),
    describe=lambda record: "Incident details",
    form=IncidentHeaderForm,
    update=incident_update,
    m2m_fields=("responders", "services", "viewers"),
    after_save=postmortem_sync_due,
    prefetch=("services", "responders"),
    search=Searchable(incident="pk", heading=("title",), weight="A", label="Title"),
)

SECTION = BlockKind(
    name="section",
    model=Section,
    label="Section",
    template=DOCUMENT,
    partial="section",
    blocks=lambda incident: Section.objects.filter(postmortem__incident=incident),
    incident_id=lambda section: section.postmortem.incident_id,
    history=lambda incident: Section.history.filter(postmortem_id=incident.postmortem.pk),
    tracked_fields=("body",),
    describe=lambda record: record.title,
    aria_label=lambda section: section.title,
    form=SectionForm,
    update=section_update,
    merge_fields=("body",),
    autosave_field="body",
    keep_conflict=conflict_copy_keep,
    prose_fields=("body",),
    names_expected=lambda section: section.key not in ANALYSIS_SECTIONS,
    fragment_stamp=_images_stamp,
    document_list="sections",
    document_rows=lambda incident: list(incident.postmortem.sections.all()),
    prefetch=("postmortem__sections",),
    search=Searchable(incident="postmortem__incident", body=("body",)),
)


def _new_entry(incident, request) -> TimelineEntry:
    """While the incident is going on, what happened most likely happened just now."""
    now = timezone.now().replace(microsecond=0) if incident.is_active else None
    return TimelineEntry(incident=incident, added_by=request.user, occurred_at=now)


ENTRY = BlockKind(
    name="entry",
    model=TimelineEntry,
    label="Timeline entry",
    template=DOCUMENT,
    partial="entry",
    blocks=lambda incident: incident.timeline.select_related("added_by"),
    incident_id=lambda entry: entry.incident_id,
    history=lambda incident: TimelineEntry.history.filter(incident_id=incident.pk),
    tracked_fields=("occurred_at", "kind", "text"),
    describe=lambda record: described("Timeline", record.text),
    form=TimelineEntryForm,
    update=timeline_entry_update,
    new_form=NewTimelineEntryForm,
    new_block=lambda incident, request: _new_entry(incident, request),
    list_partial="timeline",
    # The header's picture marks every entry on its time axis.
    refreshes=("incident",),
    deletable=True,
    form_holder=LIST_ITEM,
    prose_fields=("text",),
    fragment_stamp=_images_stamp,
    document_list="timeline",
    document_rows=lambda incident: list(incident.timeline.all()),
    light_rows=_light_entries,
    document_path="timeline",
    prefetch=(Prefetch("timeline", TimelineEntry.objects.select_related("added_by")),),
    search=Searchable(incident="incident", body=("text",)),
)

CAUSE = BlockKind(
    name="cause",
    model=Cause,
    label="Cause",
    template=DOCUMENT,
    partial="cause",
    blocks=lambda incident: Cause.objects.filter(postmortem__incident=incident),
    incident_id=lambda cause: cause.postmortem.incident_id,
    history=lambda incident: Cause.history.filter(postmortem_id=incident.postmortem.pk),
    tracked_fields=("statement", "kind"),
    describe=lambda record: described("Cause", record.statement),
    form=CauseForm,
    update=cause_update,
    new_form=NewCauseForm,
    new_block=_new_cause,
    list_partial="causes",
    prose_fields=("statement",),
    names_expected=lambda cause: False,
    siblings=lambda cause: Cause.objects.filter(postmortem=cause.postmortem_id),
    deletable=True,
    document_list="causes",
    document_rows=lambda incident: list(incident.postmortem.causes.all()),
    light_rows=_light_causes,
    document_path="postmortem__causes",
    prefetch=(
        Prefetch(
            "postmortem__causes",
            Cause.objects.select_related("category").prefetch_related(
                Prefetch("whys", Why.objects.order_by("position", "id")),
                Prefetch("accepted_risks", AcceptedRisk.objects.select_related("accepted_by")),
            ),
        ),
    ),
    search=Searchable(incident="postmortem__incident", heading=("statement",)),
)

WHY = BlockKind(
    name="why",
    model=Why,
    label="Why",
    template=DOCUMENT,
    partial="why",
    blocks=lambda incident: Why.objects.filter(cause__postmortem__incident=incident),
    incident_id=lambda why: why.cause.postmortem.incident_id,
    history=lambda incident: Why.history.filter(cause_id__in=_cause_ids(incident)),
    tracked_fields=("question", "answer", "evidence"),
    describe=lambda record: described("Why", record.question),
    form=WhyForm,
    update=why_update,
    new_form=NewWhyForm,
    new_block=_new_why,
    list_partial="cause",
    parent="cause",
    parent_field="cause_id",
    siblings=lambda why: Why.objects.filter(cause=why.cause_id),
    deletable=True,
    form_holder=LIST_ITEM,
    prose_fields=("question", "answer", "evidence"),
    names_expected=lambda why: False,
    search=Searchable(
        incident="cause__postmortem__incident", heading=("question",), body=("answer", "evidence")
    ),
    fragment_stamp=_images_stamp,
)

# A graph or screenshot shown with a section, a timeline entry or a why. Added by uploading
# (postmortems.image_views), removed there too; its caption is edited like any block.
IMAGE = BlockKind(
    name="image",
    model=Image,
    label="Image",
    template=DOCUMENT,
    partial="image",
    blocks=lambda incident: Image.objects.filter(postmortem__incident=incident),
    incident_id=lambda image: image.postmortem.incident_id,
    history=lambda incident: Image.history.filter(postmortem_id=incident.postmortem.pk),
    tracked_fields=("caption",),
    describe=lambda record: described("Image", record.caption or record.original_name),
    aria_label=lambda image: f"Caption of {image.original_name or 'the image'}",
    form=ImageCaptionForm,
    update=updater(("caption",)),
    prefetch=(
        "postmortem__sections__images",
        "timeline__images",
        "postmortem__causes__whys__images",
    ),
    search=Searchable(incident="postmortem__incident", body=("caption",)),
)

RISK = BlockKind(
    name="risk",
    model=AcceptedRisk,
    label="Accepted risk",
    template=DOCUMENT,
    partial="risk",
    blocks=lambda incident: AcceptedRisk.objects.filter(
        cause__postmortem__incident=incident
    ).select_related("accepted_by"),
    incident_id=lambda risk: risk.cause.postmortem.incident_id,
    history=lambda incident: AcceptedRisk.history.filter(cause_id__in=_cause_ids(incident)),
    tracked_fields=("accepted_by_id", "reason", "revisit_on"),
    describe=lambda record: described("Accepted risk", record.reason),
    form=AcceptedRiskForm,
    update=accepted_risk_update,
    new_form=NewAcceptedRiskForm,
    new_block=_new_risk,
    list_partial="cause",
    parent="cause",
    parent_field="cause_id",
    siblings=lambda risk: AcceptedRisk.objects.filter(cause=risk.cause_id),
    deletable=True,
    form_holder=LIST_ITEM,
    search=Searchable(incident="cause__postmortem__incident", body=("reason",)),
    fragment_stamp=lambda risk: "",
)

# Kept for the record, never edited or reverted to: a conflict copy is resolved by choice.
CONFLICT = BlockKind(
    name="conflict",
    model=ConflictCopy,
    label="Conflict copy",
    template=DOCUMENT,
    partial="section",
    blocks=lambda incident: ConflictCopy.objects.filter(section__postmortem__incident=incident),
    incident_id=lambda copy: copy.section.postmortem.incident_id,
    history=lambda incident: ConflictCopy.history.filter(
        section_id__in=Section.objects.filter(postmortem_id=incident.postmortem.pk).values("id")
    ),
    tracked_fields=("text", "resolution"),
    describe=lambda record: "Conflict copy (text that could not be merged)",
)


def register_document_kinds() -> None:
    for kind in (INCIDENT, ENTRY, SECTION, CAUSE, WHY, RISK, IMAGE, CONFLICT):
        register(kind)
