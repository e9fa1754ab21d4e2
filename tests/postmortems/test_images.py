"""Graphs and screenshots: uploads judged by their bytes, kept in either storage, served only
through the policy (or a stakeholder link that shows them)."""

from __future__ import annotations

import io
import os
import socket
import struct
import zipfile
import zlib

import boto3
import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from moto.server import ThreadedMotoServer
from PIL import Image as Pillow

from postmortems.document import document_for_ref
from postmortems.export import printable_html
from postmortems.models import Image, Section, image_storage
from postmortems.share_links import share_link_create
from tests import factories

pytestmark = pytest.mark.django_db
XHR = {"X-Requested-With": "XMLHttpRequest"}
BUCKET = "hindsight-images-test"


def picture(fmt: str = "PNG", size=(640, 360), colour=(47, 93, 158)) -> bytes:
    out = io.BytesIO()
    Pillow.new("RGB", size, colour).save(out, format=fmt)
    return out.getvalue()


def named(data: bytes, name: str):
    upload = io.BytesIO(data)
    upload.name = name
    return upload


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge image: a decompression bomb's shape."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    rows = zlib.compress(b"\x00" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="session")
def s3_server():
    """moto's S3 emulator on 127.0.0.1, for the whole session."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(params=["filesystem", "s3"])
def storage(request, settings, tmp_path, monkeypatch):
    """The images storage, once on the local file system and once on an S3 bucket."""
    if request.param == "filesystem":
        settings.STORAGES = {
            **settings.STORAGES,
            "images": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(tmp_path / "images")},
            },
        }
    else:
        endpoint = request.getfixturevalue("s3_server")
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "eu-west-1",
        }.items():
            monkeypatch.setenv(name, value)
        client = boto3.client("s3", endpoint_url=endpoint, region_name="eu-west-1")
        if BUCKET not in [b["Name"] for b in client.list_buckets().get("Buckets", [])]:
            client.create_bucket(
                Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
            )
        settings.STORAGES = {
            **settings.STORAGES,
            "images": {
                "BACKEND": "storages.backends.s3.S3Storage",
                "OPTIONS": {
                    "bucket_name": BUCKET,
                    "endpoint_url": endpoint,
                    "region_name": "eu-west-1",
                    "default_acl": None,
                    "file_overwrite": False,
                },
            },
        }
    return request.param


def upload(client, incident, data: bytes, name: str, *, kind="section", host=None, caption=""):
    host = host or Section.objects.get(postmortem__incident=incident, key="impact")
    url = reverse("image-upload", args=[incident.ref, kind, host.pk])
    return client.post(url, {"image": named(data, name), "caption": caption}, headers=XHR)


# --- Uploads, on both storages ----------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "name"), [("PNG", "graph.png"), ("JPEG", "a.jpg"), ("WEBP", "b")])
def test_an_image_is_stored_with_a_thumbnail(storage, owner_client, incident, fmt, name):
    response = upload(owner_client, incident, picture(fmt), name, caption="Error rate at 14:05")

    assert response.status_code == 201
    image = Image.objects.get()
    assert (image.format, image.width, image.height) == (fmt.lower(), 640, 360)
    assert image.caption == "Error rate at 14:05"
    assert image_storage.exists(image.file.name) and image_storage.exists(image.thumbnail.name)
    with image_storage.open(image.thumbnail.name) as stored:
        thumb = Pillow.open(io.BytesIO(stored.read()))
        assert (thumb.format, thumb.size) == ("WEBP", (480, 270))
    assert f'src="/incidents/{incident.ref}/images/{image.pk}/?size=thumbnail"' in (
        response.content.decode()
    )


@pytest.mark.parametrize(
    ("data", "name", "words"),
    [
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "g.svg",
            "SVG",
        ),
        (b'<?xml version="1.0"?><svg/>', "graph.png", "SVG"),
        (b"MZ\x90\x00 not an image at all" * 10, "graph.png", "not an image"),
        (picture("GIF"), "graph.png", "not a PNG, JPEG or WebP image (it reads as GIF)"),
        (picture("PNG")[:300], "cut.png", "damaged or cut short"),
        (png_claiming(30_000, 30_000), "bomb.png", "too large to open safely"),
        (b"", "empty.png", "empty"),
    ],
    ids=["svg", "svg-named-png", "exe-named-png", "gif-named-png", "truncated", "bomb", "empty"],
)
def test_a_bad_file_is_refused_in_words(storage, owner_client, incident, data, name, words):
    response = upload(owner_client, incident, data, name)

    assert response.status_code == 422
    assert words in response.content.decode()
    assert not Image.objects.exists()


def test_a_file_over_the_limit_is_refused(storage, owner_client, incident, settings):
    settings.HINDSIGHT_IMAGE_MAX_BYTES = 10_000
    noisy = Pillow.frombytes("RGB", (200, 200), os.urandom(200 * 200 * 3))
    out = io.BytesIO()
    noisy.save(out, format="PNG")

    response = upload(owner_client, incident, out.getvalue(), "big.png")

    assert response.status_code == 422
    assert "the most it may be is 10 KB" in response.content.decode()
    assert not Image.objects.exists()


def test_images_go_with_entries_and_whys_too(storage, owner_client, incident):
    entry = factories.timeline_entry(incident, text="Error rate 40%")
    why = factories.cause(incident, whys=1).whys.get()

    assert (
        upload(owner_client, incident, picture(), "e.png", kind="entry", host=entry).status_code
        == 201
    )
    assert (
        upload(owner_client, incident, picture(), "w.png", kind="why", host=why).status_code == 201
    )

    assert entry.images.count() == 1 and why.images.count() == 1


# --- Serving ----------------------------------------------------------------------------------


def test_the_image_is_served_through_the_app_only(storage, owner_client, incident):
    upload(owner_client, incident, picture("JPEG"), "shot.jpg")
    image = Image.objects.get()
    url = reverse("image-file", args=[incident.ref, image.pk])

    response = owner_client.get(url)
    signed_out = Client().get(url)

    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content)[:3] == b"\xff\xd8\xff"
    assert signed_out.status_code in (302, 404)
    # An image of another incident is not found under this one.
    other = factories.incident()
    assert owner_client.get(reverse("image-file", args=[other.ref, image.pk])).status_code == 404


def test_someone_who_may_not_see_the_incident_gets_a_404(
    storage, owner_client, outsider, incident, monkeypatch
):
    upload(owner_client, incident, picture(), "a.png")
    image = Image.objects.get()
    type(incident).objects.filter(pk=incident.pk).update(private=True)
    client = Client()
    client.force_login(outsider)

    assert client.get(reverse("image-file", args=[incident.ref, image.pk])).status_code == 404


def test_a_stakeholder_link_shows_only_the_images_its_page_shows(
    storage, owner, owner_client, incident
):
    client = Client()
    section = Section.objects.get(postmortem__incident=incident, key="impact")
    section.body = "12% of checkouts failed."
    section.save()
    why = factories.cause(incident, whys=1).whys.get()
    upload(owner_client, incident, picture(), "impact.png", host=section)
    upload(owner_client, incident, picture(), "evidence.png", kind="why", host=why)
    shown, evidence = Image.objects.order_by("pk")
    _, token = share_link_create(
        postmortem=incident.postmortem,
        label="Acme",
        expires_at=None,
        hide_names=False,
        share_draft=True,
        user=owner,
    )

    page = client.get(reverse("stakeholder", args=[token]))
    seen = client.get(reverse("stakeholder-image", args=[token, shown.pk]))
    hidden = client.get(reverse("stakeholder-image", args=[token, evidence.pk]))

    assert f"/s/{token}/images/{shown.pk}/" in page.content.decode()
    assert seen.status_code == 200 and seen["Referrer-Policy"] == "no-referrer"
    assert hidden.status_code == 404
    assert client.get(reverse("stakeholder-image", args=["x" * 43, shown.pk])).status_code == 404


# --- Where else they show ---------------------------------------------------------------------


def test_the_markdown_comes_zipped_with_its_images(storage, owner_client, incident):
    upload(owner_client, incident, picture(), "graph.png", caption="Pool saturation")
    entry = factories.timeline_entry(incident, text="Paged")
    upload(owner_client, incident, picture("JPEG"), "t.jpg", kind="entry", host=entry)
    section_image, entry_image = Image.objects.order_by("pk")

    response = owner_client.get(reverse("export-markdown", args=[incident.ref]))

    assert response["Content-Type"] == "application/zip"
    assert f'filename="{incident.ref}-postmortem.zip"' in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    names = set(archive.namelist())
    assert names == {
        f"{incident.ref}-postmortem.md",
        f"images/{section_image.pk}.png",
        f"images/{entry_image.pk}.jpg",
    }
    text = archive.read(f"{incident.ref}-postmortem.md").decode()
    assert f"![Pool saturation](images/{section_image.pk}.png)" in text
    assert f"![Image](images/{entry_image.pk}.jpg)" in text
    assert archive.read(f"images/{section_image.pk}.png")[:8] == b"\x89PNG\r\n\x1a\n"


def test_without_images_the_markdown_comes_alone(owner_client, incident):
    response = owner_client.get(reverse("export-markdown", args=[incident.ref]))

    assert response["Content-Type"].startswith("text/markdown")


def test_the_printed_page_carries_its_images_inside(storage, owner_client, incident):
    upload(owner_client, incident, picture(), "graph.png", caption="Pool saturation")

    html = printable_html(document_for_ref(incident.ref))

    assert 'src="data:image/png;base64,iVBORw0KGgo' in html
    assert 'alt="Pool saturation"' in html


def test_the_document_page_shows_images_in_a_fixed_number_of_queries(
    storage, owner_client, incident, django_assert_max_num_queries
):
    entry = factories.timeline_entry(incident)
    why = factories.cause(incident, whys=2).whys.first()

    def image_queries(shown: int) -> int:
        cache.clear()  # the page as first rendered, every block and list loaded
        with django_assert_max_num_queries(40) as captured:
            response = owner_client.get(incident.get_absolute_url())
        assert response.content.decode().count('class="block image"') == shown
        return len([q for q in captured.captured_queries if "postmortems_image" in q["sql"]])

    def upload_one_of_each(n: int) -> None:
        upload(owner_client, incident, picture(), f"{n}.png")
        upload(owner_client, incident, picture(), f"e{n}.png", kind="entry", host=entry)
        upload(owner_client, incident, picture(), f"w{n}.png", kind="why", host=why)

    upload_one_of_each(0)
    with_one_each = image_queries(shown=3)
    for n in range(1, 4):
        upload_one_of_each(n)
    assert image_queries(shown=12) == with_one_each


def test_the_demo_shows_a_graph_in_a_section_an_entry_and_a_why(db):
    from django.core.management import call_command

    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())

    images = Image.objects.all()
    assert sorted(
        bool(i.section_id) + 2 * bool(i.entry_id) + 4 * bool(i.why_id) for i in images
    ) == [
        1,
        2,
        4,
    ]
    assert all(image_storage.exists(image.thumbnail.name) for image in images)


def test_without_javascript_the_form_posts_and_comes_back_to_the_document(owner_client, incident):
    section = Section.objects.get(postmortem__incident=incident, key="impact")
    url = reverse("image-upload", args=[incident.ref, "section", section.pk])

    added = owner_client.post(url, {"image": named(picture(), "g.png")}, follow=True)
    refused = owner_client.post(url, {"image": named(b"GIF89a", "g.png")}, follow=True)

    assert added.redirect_chain[0][0] == f"{incident.get_absolute_url()}#section-{section.pk}"
    assert "Image added." in added.content.decode()
    assert "This file is not an image" in refused.content.decode()
    assert Image.objects.count() == 1


@pytest.mark.parametrize(
    ("kind", "pk", "data", "status"),
    [
        ("action", 1, {}, 404),
        ("section", 999_999, {}, 404),
        ("section", None, {}, 400),
        ("section", None, {"caption": "x" * 301}, 400),
        ("section", None, {"caption": "a\x00b"}, 400),
    ],
)
def test_bad_upload_requests_answer_in_words(owner_client, incident, kind, pk, data, status):
    section = Section.objects.get(postmortem__incident=incident, key="impact")
    url = reverse("image-upload", args=[incident.ref, kind, pk or section.pk])
    if "caption" in data:
        data = {**data, "image": named(picture(), "g.png")}

    response = owner_client.post(url, data, headers=XHR)

    assert response.status_code == status
    assert not Image.objects.exists()


def test_removing_an_image_keeps_it_in_the_history(owner_client, incident):
    upload(owner_client, incident, picture(), "g.png", caption="Pool")
    image = Image.objects.get()

    stale = owner_client.post(
        reverse("image-remove", args=[incident.ref, image.pk]), {"base_version": 0}
    )
    removed = owner_client.post(
        reverse("image-remove", args=[incident.ref, image.pk]), {"base_version": image.version}
    )

    assert stale.status_code == 409
    assert removed.status_code == 200
    assert not Image.objects.exists()
    assert Image.history.filter(id=image.pk, history_type="-").exists()
