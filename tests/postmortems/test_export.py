from __future__ import annotations

import io
import re
from datetime import UTC

import pytest
from django.urls import reverse
from pypdf import PdfReader

from incidents.models import TimelineEntry
from postmortems.document import document_for_ref
from postmortems.export import html_to_pdf, markdown_export, paper_for, printable_html
from tests import factories

pytestmark = pytest.mark.django_db

SUMMARY = """Checkout failed for **47 minutes**.

- 12% of payments | refused
- retries made it worse

```
pool_size = 20
```"""


@pytest.fixture
def written(incident, owner, teammate):
    factories.publishable(incident, teammate)
    incident.postmortem.sections.filter(key="summary").update(body=SUMMARY)
    factories.timeline_entry(
        incident,
        minutes=7,
        kind=TimelineEntry.Kind.ESCALATION,
        text="Paged the database team | second line\nand a third",
        user=owner,
    )
    cause = incident.postmortem.causes.get()
    why = cause.whys.first()
    why.answer = "Because the pool was sized in 2023\nfor half the traffic"
    why.evidence = "Grafana: pool saturation at 100%"
    why.save()
    return document_for_ref(incident.ref)


def parts(markdown: str) -> dict[str, str]:
    """Read an export back: the text under each second-level heading."""
    found: dict[str, list[str]] = {}
    current = None
    for line in markdown.split("\n"):
        if line.startswith("## "):
            current = line[3:]
            found[current] = []
        elif current is not None:
            found[current].append(line)
    return {title: "\n".join(lines).strip() for title, lines in found.items()}


def table(text: str) -> list[list[str]]:
    rows = [line for line in text.split("\n") if line.startswith("| ")][2:]
    return [
        [
            cell.strip().replace("<br>", "\n").replace("\\|", "|")
            for cell in re.split(r"(?<!\\)\|", row)[1:-1]
        ]
        for row in rows
    ]


def test_markdown_round_trips_the_content(written):
    markdown = markdown_export(written)
    assert markdown.startswith(f"# {written.ref}: {written.title}\n")
    found = parts(markdown)

    for section in written.postmortem.sections.all():
        heading = section.title + (" _(internal)_" if section.internal else "")
        assert found[heading] == (section.body or "_Not written yet._"), section.key

    timeline = table(found["Timeline"])
    assert timeline == [
        [
            entry.occurred_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
            entry.get_kind_display(),
            entry.text,
            entry.added_by.get_full_name() if entry.added_by else "—",
        ]
        for entry in written.timeline.all()
    ]
    assert [row[2] for row in timeline if row[1] == "Escalation"] == [
        "Paged the database team | second line\nand a third"
    ]

    cause = written.postmortem.causes.get()
    causes = found["Causes and their whys"]
    assert f"### Cause 1 (primary)\n\n{cause.statement}\n" in causes
    for number, why in enumerate(cause.whys.all(), start=1):
        assert f"{number}. **Why?** {why.question}" in causes
        assert f"   - **Because:** {why.answer.replace(chr(10), chr(10) + '     ')}" in causes
    assert "   - **Evidence:** Grafana: pool saturation at 100%" in causes

    actions = table(found["Action items"])
    item = written.action_items.get()
    assert actions == [[item.title, "Corrective", "Marcus Webb", item.due_date.isoformat(), "Open"]]


def test_markdown_puts_readers_first_and_marks_internal_sections(written):
    headings = [line for line in markdown_export(written).split("\n") if line.startswith("## ")]
    assert headings[:7] == [
        "## Incident summary",
        "## Business impact",
        "## Impact",
        "## Aftercare",
        "## Milestones",
        "## Timeline",
        "## Root cause analysis",
    ]
    assert "## What went well _(internal)_" in headings
    assert headings[-1] == "## Action items"


def test_markdown_is_stable(written):
    assert markdown_export(written) == markdown_export(document_for_ref(written.ref))


def test_the_markdown_download(owner_client, written):
    response = owner_client.get(reverse("export-markdown", args=[written.ref]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="{written.ref}-postmortem.md"'
    )
    assert response.content.decode() == markdown_export(written)


def test_the_markdown_keeps_times_in_utc_whoever_asks(owner_client, written):
    owner_client.cookies["tz"] = "Asia/Tokyo"
    tokyo = owner_client.get(reverse("export-markdown", args=[written.ref])).content
    assert tokyo.decode() == markdown_export(written)


def test_exports_need_an_account(client, incident):
    for name in ("export-markdown", "export-pdf"):
        response = client.get(reverse(name, args=[incident.ref]))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_an_unknown_incident_has_no_export(owner_client):
    assert owner_client.get(reverse("export-markdown", args=["INC-999"])).status_code == 404


def test_the_pdf_is_a_pdf_with_the_title_in_its_text(written):
    pdf = html_to_pdf(printable_html(written))
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf))
    text = " ".join(page.extract_text() for page in reader.pages)
    assert written.title in text
    assert "Checkout failed for" in text
    assert "Paged the database team" in text
    assert "Edit" not in text and "Delete" not in text  # no controls in print


A4 = (595, 842)  # points, rounded
LETTER = (612, 792)


def page_size(pdf: bytes) -> tuple[int, int]:
    box = PdfReader(io.BytesIO(pdf)).pages[0].mediabox
    return round(float(box.width)), round(float(box.height))


@pytest.mark.parametrize(
    ("accept_language", "setting", "expected"),
    [
        ("de-DE,de;q=0.9,en;q=0.8", "", "A4"),
        ("en-GB,en;q=0.9", "", "A4"),
        ("en-US,en;q=0.9", "", "Letter"),
        ("fr-CA", "", "Letter"),
        ("nl", "", "A4"),
        ("en", "", "Letter"),
        ("", "", "Letter"),
        ("en-US", "A4", "A4"),
        ("de-DE", "Letter", "Letter"),
    ],
)
def test_the_paper_follows_the_setting_else_the_readers_language(
    accept_language, setting, expected, settings
):
    settings.HINDSIGHT_PDF_PAPER = setting
    assert paper_for(accept_language) == expected


def test_the_pdf_is_a4_where_the_reader_is_and_letter_in_the_us(owner_client, written):
    url = reverse("export-pdf", args=[written.ref])
    a4 = owner_client.get(url, headers={"Accept-Language": "de-DE,de;q=0.9"})
    letter = owner_client.get(url, headers={"Accept-Language": "en-US"})
    assert (page_size(a4.content), page_size(letter.content)) == (A4, LETTER)


def test_a_long_timeline_starts_on_the_first_page_not_after_a_gap(written):
    for minute in range(40):
        factories.timeline_entry(written, minutes=60 + minute, text=f"Step {minute} done")
    reader = PdfReader(io.BytesIO(html_to_pdf(printable_html(document_for_ref(written.ref)))))
    pages = [page.extract_text() for page in reader.pages]
    assert len(pages) >= 2
    # The heading and the first entries share the first page with what came before them.
    # (The incident's picture heads the timeline, so its first entry is the opening one.)
    assert "Timeline" in pages[0]
    assert "Incident opened" in pages[0]


def test_the_pdf_download(owner_client, written):
    response = owner_client.get(reverse("export-pdf", args=[written.ref]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{written.ref}-postmortem.pdf"'
    assert response.content.startswith(b"%PDF-")


def test_without_chromium_the_pdf_download_says_so(owner_client, incident, settings):
    settings.HINDSIGHT_CHROMIUM = "/nowhere/chromium"
    response = owner_client.get(reverse("export-pdf", args=[incident.ref]))
    assert response.status_code == 503
    html = response.content.decode()
    assert "PDF export needs Chromium at /nowhere/chromium" in html
    assert "Download the Markdown instead" in html


def test_a_chromium_that_fails_is_reported_not_a_crash(owner_client, incident, settings, tmp_path):
    broken = tmp_path / "chromium"
    broken.write_text("#!/bin/sh\nexit 3\n")
    broken.chmod(0o755)
    settings.HINDSIGHT_CHROMIUM = str(broken)
    response = owner_client.get(reverse("export-pdf", args=[incident.ref]))
    assert response.status_code == 503
    assert "Making the PDF failed" in response.content.decode()


def test_an_unwritten_postmortem_still_exports(incident):
    markdown = markdown_export(document_for_ref(incident.ref))
    assert "_Not written yet._" in markdown
    assert "_No action items._" in markdown
