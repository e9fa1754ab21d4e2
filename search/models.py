"""One row per written block of every searchable kind (see kernel.kinds.Searchable), holding
its text and a weighted full-text vector for PostgreSQL to search."""

from __future__ import annotations

from django.contrib.postgres.search import SearchVectorField
from django.db import models

from incidents.models import Incident
from kernel.kinds import kind_named


class SearchEntry(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="+")
    # The name of the block's kind in the registry (kernel.kinds), and the block's id there.
    kind = models.CharField(max_length=40)
    block_id = models.PositiveBigIntegerField()
    heading = models.CharField(max_length=300, blank=True)
    body = models.TextField(blank=True)
    # Heading weighs A (the incident's title) or B, body C. Kept current by search.indexing on
    # every save; the GIN index on it is created by migration, on PostgreSQL only, since the
    # embedded SQLite searches the blocks' own text instead.
    vector = SearchVectorField(null=True)
    # Copies of the incident's start and private flag, kept current when the incident is
    # saved: a very common word is ranked among its most recent matches, walked in this
    # order on an index, and public rows pass the reader's visibility without a join.
    started_at = models.DateTimeField(null=True)
    private = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "block_id"], name="search_entry_block_unique")
        ]
        indexes = [
            models.Index(fields=["incident"], name="search_entry_incident_idx"),
            models.Index(fields=["started_at", "id"], name="search_entry_started_idx"),
        ]
        verbose_name_plural = "search entries"

    def __str__(self) -> str:
        return f"{self.kind_label} {self.block_id} of incident {self.incident_id}"

    @property
    def kind_label(self) -> str:
        try:
            kind = kind_named(self.kind)
        except LookupError:
            return self.kind
        return (kind.search and kind.search.label) or kind.label
