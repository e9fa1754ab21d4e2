"""A responder adds the graph that showed the problem: by the upload form, and by pasting it
into the text being written; a stakeholder sees it on the shared page."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image as Pillow
from PIL import ImageDraw
from playwright.sync_api import expect

from postmortems.models import Image, Section
from postmortems.share_links import share_link_create
from tests import factories
from tests.browser.conftest import PHONE

PASTE = """([data, name]) => {
  const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], name, { type: "image/png" }));
  const box = document.activeElement;
  box.dispatchEvent(new ClipboardEvent("paste", { clipboardData: transfer, bubbles: true,
                                                  cancelable: true }));
}"""


@pytest.fixture(autouse=True)
def local_images(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "images": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "stored")},
        },
    }


def graph_png() -> bytes:
    """A small line graph, so the screenshots show something recognisable."""
    image = Pillow.new("RGB", (720, 300), "white")
    draw = ImageDraw.Draw(image)
    draw.line([(40, 260), (700, 260)], fill="#888", width=2)
    draw.line([(40, 20), (40, 260)], fill="#888", width=2)
    points = [(40 + i * 22, 240 - (180 if 12 <= i <= 20 else 10 + (i % 3) * 6)) for i in range(31)]
    draw.line(points, fill="#b42318", width=4)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_an_image_uploads_with_progress_and_shows_in_the_document(
    browser_page, accessible, shot, owner, tmp_path
):
    incident = factories.incident(owner=owner, title="Checkout errors after the pool change")
    section = Section.objects.get(postmortem__incident=incident, key="impact")
    section.body = "12% of checkouts failed for 47 minutes."
    section.save()
    graph = tmp_path / "error-rate.png"
    graph.write_bytes(graph_png())
    page = browser_page(owner)
    page.goto(incident.get_absolute_url())

    impact = page.locator(f"#section-{section.pk}")
    impact.get_by_text("Add an image").click()
    impact.get_by_label("Graph or screenshot").set_input_files(str(graph))
    impact.get_by_label("Caption").fill("Checkout error rate, 14:00–15:00")
    impact.get_by_role("button", name="Upload image").click()

    expect(impact.get_by_role("status")).to_have_text("Image added.")
    figure = impact.get_by_role("img", name="Checkout error rate, 14:00–15:00")
    expect(figure).to_be_visible()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=figure.element_handle()
    )
    assert figure.evaluate("img => img.naturalWidth") == 480  # the thumbnail, served by the app
    accessible(page)
    shot(page, "images-document-laptop")

    # A file that is not an image is refused in words, where it was sent.
    fake = tmp_path / "chart.png"
    fake.write_bytes(b"<svg xmlns='http://www.w3.org/2000/svg'></svg>")
    impact.get_by_label("Graph or screenshot").set_input_files(str(fake))
    impact.get_by_role("button", name="Upload image").click()
    expect(impact.get_by_role("status")).to_contain_text("SVG images are not taken")
    assert Image.objects.count() == 1


def test_pasting_an_image_into_a_timeline_entry_adds_it_on_a_phone(
    browser_page, accessible, shot, owner, tmp_path
):
    incident = factories.incident(owner=owner, title="Search index lagging")
    entry = factories.timeline_entry(incident, text="Queue depth alert fired", user=owner)
    page = browser_page(owner, viewport=PHONE)
    page.goto(incident.get_absolute_url())

    page.locator(f"#entry-{entry.pk}").focus()  # its controls come to the entry in use
    page.locator(f"#entry-{entry.pk}").get_by_role("button", name="Edit timeline entry").click()
    form = page.get_by_role("form", name="Timeline entry")
    form.get_by_label("What happened").click()
    page.evaluate(PASTE, [base64.b64encode(graph_png()).decode(), "pasted.png"])

    expect(form.get_by_role("status").filter(has_text="Image added.")).to_be_visible()
    expect(form.get_by_role("img", name="An image without a caption yet")).to_be_visible()
    # The text box kept its text: the paste became an image, not characters.
    expect(form.get_by_label("What happened")).to_have_value("Queue depth alert fired")
    shot(page, "images-paste-phone")
    assert entry.images.count() == 1

    form.get_by_role("button", name="Cancel").click()
    shown = page.locator(f"#entry-{entry.pk}").get_by_role("img")
    expect(shown).to_have_accessible_name("An image without a caption yet")
    accessible(page)


def test_a_stakeholder_sees_the_images_the_link_shows(browser_page, accessible, shot, owner):
    incident = factories.incident(owner=owner, title="Card payments refused")
    section = Section.objects.get(postmortem__incident=incident, key="summary")
    section.body = "Card payments were refused for 20 minutes."
    section.save()
    from django.core.files.base import ContentFile

    image = factories.image(incident, key="summary", caption="Refused payments per minute")
    image.file.save("graph.png", ContentFile(graph_png()), save=False)
    image.thumbnail.save("graph.webp", ContentFile(graph_png()), save=True)
    _, token = share_link_create(
        postmortem=incident.postmortem,
        label="Acme",
        expires_at=None,
        hide_names=False,
        share_draft=True,
        user=owner,
    )
    page = browser_page(owner, viewport=PHONE)
    page.context.clear_cookies()

    page.goto(f"/s/{token}/")

    shown = page.get_by_role("img", name="Refused payments per minute")
    shown.scroll_into_view_if_needed()
    expect(shown).to_be_visible()
    status = page.evaluate("url => fetch(url).then(r => r.status)", shown.get_attribute("src"))
    assert status == 200
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=shown.element_handle()
    )
    assert shown.evaluate("img => img.naturalWidth") == 720
    accessible(page)
    shot(page, "images-stakeholder-phone")
