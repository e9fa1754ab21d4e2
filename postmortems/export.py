"""The whole postmortem as a file: Markdown to keep or paste elsewhere, PDF to print or attach.

Both carry everything the team wrote, internal sections included and marked, in the order
readers want it (summary, impact and aftercare first). Times are in UTC so that the same
document exports to the same file whoever downloads it.
"""

from __future__ import annotations

import base64
import io
import logging
import os
import subprocess
import tempfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string

from incidents.models import Incident
from kernel.templatetags.blocks import duration
from postmortems.picture import picture_context
from postmortems.publishing.reader import (
    reader_document,
    reader_document_for_display,
    with_image_sources,
)

logger = logging.getLogger(__name__)

PDF_TIMEOUT_SECONDS = 60
NOT_WRITTEN = "_Not written yet._"


# --- Markdown ---------------------------------------------------------------------------------


def _utc(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if value else "—"


def table_cell(text: str) -> str:
    """Text that stays in one table cell: pipes escaped, line breaks as <br>."""
    text = (text or "").replace("\r\n", "\n").strip()
    return text.replace("|", "\\|").replace("\n", "<br>") or "—"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(table_cell(cell) for cell in row) + " |" for row in rows]
    return lines


def _indented(text: str, spaces: int) -> str:
    """Continuation lines indented to stay inside a list item."""
    pad = " " * spaces
    return ("\n" + pad).join((text or "").replace("\r\n", "\n").strip().split("\n"))


def _image_line(image: dict) -> str:
    caption = " ".join((image["caption"] or "Image").replace("]", ")").split())
    return f"![{caption}](images/{image['file']})"


def _section_lines(section: dict) -> list[str]:
    marker = " _(internal)_" if section["internal"] else ""
    body = section["body"].replace("\r\n", "\n").strip()
    images = [_image_line(image) for image in section.get("images", [])]
    return [f"## {section['title']}{marker}", "", body or NOT_WRITTEN, ""] + (
        ["\n\n".join(images), ""] if images else []
    )


def _facts(doc: dict, postmortem_status: str) -> list[list[str]]:
    detected = _utc(doc["detected_at"])
    if doc["time_to_detect"]:
        detected += f" (after {duration(doc['time_to_detect'])})"
    resolved = _utc(doc["resolved_at"])
    if doc["duration"]:
        resolved += f" (lasted {duration(doc['duration'])})"
    severity = doc["severity"]
    return [
        ["Severity", f"{severity['name']} — {severity['meaning']}"],
        ["Incident status", doc["status"]],
        ["Postmortem status", postmortem_status],
        ["Started", _utc(doc["started_at"])],
        ["Detected", detected],
        ["Mitigated", _utc(doc["mitigated_at"])],
        ["Resolved", resolved],
        ["Customer-facing", "Yes" if doc["customer_facing"] else "No"],
        ["Incident owner", doc["owner"] or "—"],
        ["Team", doc["team"] or "—"],
        ["Services", ", ".join(doc["services"]) or "—"],
        ["Responders", ", ".join(doc["responders"]) or "—"],
    ]


def _cause_lines(number: int, cause: dict) -> list[str]:
    lines = [f"### Cause {number} ({cause['kind_label'].lower()})", "", cause["statement"], ""]
    for position, why in enumerate(cause["whys"], start=1):
        prefix = f"{position}. "
        lines.append(f"{prefix}**Why?** {_indented(why['question'], len(prefix))}")
        if why["answer"].strip():
            lines.append(f"   - **Because:** {_indented(why['answer'], 5)}")
        if why["evidence"].strip():
            lines.append(f"   - **Evidence:** {_indented(why['evidence'], 5)}")
        for image in why.get("images", []):
            lines.append(f"   - {_image_line(image)}")
    if cause["whys"]:
        lines.append("")
    return lines


def _milestone_rows(doc: dict) -> list[list[str]]:
    """The incident's picture as a table: each milestone reached and the phase it starts."""
    picture = picture_context(doc)
    phases = {span.key: f"{span.label}: {duration(span.length)}" for span in picture["spans"]}
    return [
        [label, _utc(when), phases.get(key, "")] for _, key, label, when in picture["milestones"]
    ]


def markdown_export(incident: Incident) -> str:
    """The whole postmortem as Markdown; `incident` should come from document_for_ref."""
    doc = reader_document_for_display(reader_document(incident, for_stakeholders=False))
    lines = [f"# {doc['ref']}: {doc['title']}", ""]
    lines += _table(["Field", "Value"], _facts(doc, incident.postmortem.get_status_display()))
    lines.append("")
    for section in doc["lead_sections"]:
        lines += _section_lines(section)
    lines += ["## Milestones", ""]
    lines += _table(["Milestone", "Time (UTC)", "Phase until the next"], _milestone_rows(doc))
    lines += ["", "## Timeline", ""]
    if doc["timeline"]:
        lines += _table(
            ["Time (UTC)", "Kind", "What happened", "Added by"],
            [
                [_utc(e["occurred_at"]), e["kind_label"], e["text"], e["added_by"]]
                for e in doc["timeline"]
            ],
        )
    else:
        lines.append("_No timeline entries._")
    lines.append("")
    pictured = [entry for entry in doc["timeline"] if entry.get("images")]
    if pictured:
        lines += ["### Images in the timeline", ""]
        for entry in pictured:
            for image in entry["images"]:
                lines.append(f"- {_utc(entry['occurred_at'])}: {_image_line(image)}")
        lines.append("")
    if doc["root_cause"]:
        lines += _section_lines(doc["root_cause"])
    if doc["causes"]:
        lines += ["## Causes and their whys", ""]
        for number, cause in enumerate(doc["causes"], start=1):
            lines += _cause_lines(number, cause)
    for section in doc["more_sections"]:
        lines += _section_lines(section)
    lines += ["## Action items", ""]
    if doc["action_items"]:
        lines += _table(
            ["Action", "Kind", "Owner", "Due", "Status"],
            [
                [
                    item["title"],
                    item["kind_label"],
                    item["owner"] or "No owner",
                    item["due_date"].isoformat() if item["due_date"] else "No date",
                    item["status_label"],
                ]
                for item in doc["action_items"]
            ],
        )
    else:
        lines.append("_No action items._")
    return "\n".join(lines).rstrip() + "\n"


def image_files(incident: Incident) -> list:
    """The postmortem's images, to go beside its Markdown as images/<id>.<ext>."""
    from postmortems.models import Image

    return list(Image.objects.filter(postmortem__incident=incident).order_by("pk"))


def markdown_zip(incident: Incident) -> bytes:
    """The Markdown and, under images/, each image it shows, as one zip file."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(export_filename(incident, "md"), markdown_export(incident))
        for image in image_files(incident):
            with image.file.storage.open(image.file.name, "rb") as stored:
                # Images are compressed already; deflating them again only costs time.
                archive.writestr(
                    f"images/{image.pk}.{image.extension}", stored.read(), zipfile.ZIP_STORED
                )
    return out.getvalue()


def export_filename(incident: Incident, extension: str) -> str:
    return f"{incident.ref}-postmortem.{extension}"


# --- PDF --------------------------------------------------------------------------------------


class PdfUnavailable(Exception):
    """The PDF could not be made here; the message says why, for the person who asked."""


def chromium_path() -> str | None:
    path = settings.HINDSIGHT_CHROMIUM
    return path if path and os.access(path, os.X_OK) else None


# Where Letter paper is the norm; everywhere else prints on A4.
LETTER_REGIONS = {"US", "CA", "MX", "PH", "CL", "CO", "VE", "CR", "GT", "PA", "DO", "PR", "SV"}


def paper_for(accept_language: str) -> str:
    """A4 or Letter: the setting if set, else the region of the reader's first language.

    A language without a region counts as its usual one: "en" as American English (Letter),
    any other as A4.
    """
    if settings.HINDSIGHT_PDF_PAPER:
        return settings.HINDSIGHT_PDF_PAPER
    first = (accept_language or "").split(",")[0].split(";")[0].strip().replace("_", "-")
    language, _, region = first.partition("-")
    if not region:
        return "Letter" if language.lower() in ("en", "") else "A4"
    return "Letter" if region.upper() in LETTER_REGIONS else "A4"


def printable_html(incident: Incident, *, paper: str = "A4") -> str:
    """A self-contained page (styles inline, no script, nothing fetched) for Chromium to print."""
    css_path = finders.find("css/hindsight.css")
    doc = reader_document_for_display(reader_document(incident, for_stakeholders=False))
    doc = with_image_sources(doc, _embedded_image)
    return render_to_string(
        "postmortems/stakeholder.html",
        {
            "printing": True,
            "paper": paper,
            "inline_css": Path(css_path).read_text() if css_path else "",
            "document": doc,
            "postmortem_status": incident.postmortem.get_status_display(),
        },
    )


def _embedded_image(image: dict) -> str:
    """The image inside the page itself: Chromium prints it without asking anyone for it."""
    from postmortems.models import Image

    stored = Image.objects.filter(pk=image["id"]).first()
    if stored is None:
        return ""
    try:
        with stored.file.storage.open(stored.file.name, "rb") as handle:
            data = handle.read()
    except OSError:
        return ""
    return f"data:{stored.content_type};base64,{base64.b64encode(data).decode()}"


def html_to_pdf(html: str) -> bytes:
    """Print a page to PDF with headless Chromium, in a throwaway profile."""
    chromium = chromium_path()
    if chromium is None:
        raise PdfUnavailable(
            f"PDF export needs Chromium at {settings.HINDSIGHT_CHROMIUM}, and this server does "
            "not have it. Download the Markdown instead, or use your browser's Print to save a "
            "PDF."
        )
    with tempfile.TemporaryDirectory(prefix="hindsight-pdf-") as folder:
        page, output = Path(folder, "postmortem.html"), Path(folder, "postmortem.pdf")
        page.write_text(html, encoding="utf-8")
        command = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--no-first-run",
            f"--user-data-dir={folder}/profile",
            "--no-pdf-header-footer",
            f"--print-to-pdf={output}",
            page.as_uri(),
        ]
        try:
            result = subprocess.run(
                command, capture_output=True, timeout=PDF_TIMEOUT_SECONDS, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            logger.error("Chromium could not print a PDF: %s", error)
            raise PdfUnavailable("Making the PDF took too long or failed. Try again.") from None
        data = output.read_bytes() if output.exists() else b""
        if not data.startswith(b"%PDF"):
            logger.error(
                "Chromium exited %s without a PDF: %s",
                result.returncode,
                result.stderr.decode(errors="replace")[-2000:],
            )
            raise PdfUnavailable("Making the PDF failed. Try again, or download the Markdown.")
        return data
