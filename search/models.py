"""One row per written block (an incident's title, a section, a timeline entry, a cause, a why,
an action item), holding its text and a weighted full-text vector for PostgreSQL to search."""

from __future__ import annotations

from django.contrib.postgres.search import SearchVectorField
from django.db import models

from incidents.models import Incident


class SearchEntry(models.Model):
    class Kind(models.TextChoices):
        INCIDENT = "incident", "Title"
        SECTION = "section", "Section"
        ENTRY = "entry", "Timeline"
        CAUSE = "cause", "Cause"
        WHY = "why", "Why"
        ITEM = "item", "Action item"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind)
    block_id = models.PositiveBigIntegerField()
    heading = models.CharField(max_length=300, blank=True)
    body = models.TextField(blank=True)
    # Heading weighs A, body B (title and cause statements are headings). Kept current by
    # search.indexing on every save; the GIN index on it is created by migration, on
    # PostgreSQL only, since the embedded SQLite searches the blocks' own text instead.
    vector = SearchVectorField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "block_id"], name="search_entry_block_unique")
        ]
        indexes = [models.Index(fields=["incident"], name="search_entry_incident_idx")]
        verbose_name_plural = "search entries"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.block_id} of incident {self.incident_id}"
