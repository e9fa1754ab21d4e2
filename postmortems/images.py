"""Graphs and screenshots in the document: checking an upload, storing it, and its thumbnail.

An upload is judged by what its bytes are, never by its name or the type the browser gave:
Pillow must recognise it as PNG, JPEG or WebP, it must not unpack to more pixels than we are
willing to hold in memory, and it must decode all the way through. SVG is refused outright: it
is a document that can carry scripts, not a picture, and sanitising it is a job of its own.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import PurePath

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from PIL import Image as Pillow
from PIL import UnidentifiedImageError

from kernel.blocks import block_create
from postmortems.models import Image

# The kinds of block an image can be shown with, and the field of Image naming that block.
HOST_FIELDS = {"section": "section", "entry": "entry", "why": "why"}
FORMATS = {"PNG": Image.Format.PNG, "JPEG": Image.Format.JPEG, "WEBP": Image.Format.WEBP}
THUMBNAIL_BOX = (480, 320)
ACCEPTED = "PNG, JPEG or WebP"


class ImageRefused(Exception):
    """An upload that is not taken, with the reason in words for the person who sent it."""


@dataclass(frozen=True)
class CheckedImage:
    data: bytes
    format: str
    width: int
    height: int


def _looks_like_svg(head: bytes) -> bool:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return text.startswith((b"<svg", b"<?xml", b"<!doctype svg")) or b"<svg" in text[:1024]


def image_check(upload) -> CheckedImage:
    """The upload's bytes, if they are an image we show; ImageRefused saying why not.

    1. Refuse anything larger than HINDSIGHT_IMAGE_MAX_BYTES before reading it all.
    2. Refuse SVG by its content, whatever it is called.
    3. Let Pillow identify the format from the bytes; only PNG, JPEG and WebP pass.
    4. Refuse an image whose stated size exceeds HINDSIGHT_IMAGE_MAX_PIXELS before decoding
       it (a decompression bomb), and turn Pillow's own bomb warning into a refusal.
    5. Decode it fully, so a truncated or corrupt file is refused now, not shown broken later.
    """
    limit = settings.HINDSIGHT_IMAGE_MAX_BYTES
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        raise ImageRefused(f"The image is {_mb(size)}; the most it may be is {_mb(limit)}.")
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise ImageRefused(f"The image is larger than {_mb(limit)}, the most it may be.")
    if not data:
        raise ImageRefused("The file is empty.")
    if _looks_like_svg(data[:2048]):
        raise ImageRefused(
            f"SVG images are not taken: they can carry scripts. Export the graph as {ACCEPTED}."
        )
    max_pixels = settings.HINDSIGHT_IMAGE_MAX_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Pillow.DecompressionBombWarning)
            with Pillow.open(io.BytesIO(data)) as image:
                kind = FORMATS.get(image.format or "")
                if kind is None:
                    raise ImageRefused(
                        f"This is not a {ACCEPTED} image (it reads as "
                        f"{image.format or 'an unknown format'})."
                    )
                width, height = image.size
                if width * height > max_pixels:
                    raise ImageRefused(_too_many_pixels(width, height))
                image.load()
    except ImageRefused:
        raise
    except (Pillow.DecompressionBombWarning, Pillow.DecompressionBombError):
        raise ImageRefused(_too_many_pixels(None, None)) from None
    except UnidentifiedImageError:
        raise ImageRefused(f"This file is not an image; send a {ACCEPTED} file.") from None
    except (OSError, SyntaxError, ValueError):
        raise ImageRefused(
            "The image is damaged or cut short and cannot be shown; save it again and retry."
        ) from None
    return CheckedImage(data=data, format=kind, width=width, height=height)


def _mb(size: int) -> str:
    if size < 1024 * 1024:
        return f"{-(-size // 1024)} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def _too_many_pixels(width, height) -> str:
    size = f" ({width} × {height} pixels)" if width else ""
    return f"The image is too large to open safely{size}; scale it down and retry."


def thumbnail_of(checked: CheckedImage) -> bytes:
    with Pillow.open(io.BytesIO(checked.data)) as image:
        image.thumbnail(THUMBNAIL_BOX)
        if image.mode not in ("RGB", "RGBA"):
            image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        out = io.BytesIO()
        image.save(out, format="WEBP", quality=80)
    return out.getvalue()


def image_attach(*, postmortem, host_kind: str, block, upload, caption: str, user) -> Image:
    """Check an upload, store it and its thumbnail, and show it with `block`.

    Files are written first and the row after; if the row cannot be saved the files are
    removed again, so the storage holds nothing the database does not name.
    """
    checked = image_check(upload)
    field = HOST_FIELDS[host_kind]
    stem = PurePath(getattr(upload, "name", "") or "image").stem[:80] or "image"
    image = Image(
        postmortem=postmortem,
        format=checked.format,
        width=checked.width,
        height=checked.height,
        size=len(checked.data),
        caption=caption,
        original_name=(getattr(upload, "name", "") or "")[:200],
        uploaded_by=user,
        **{field: block},
    )
    extension = image.extension
    image.file.save(f"{_safe(stem)}.{extension}", ContentFile(checked.data), save=False)
    image.thumbnail.save(f"{_safe(stem)}.webp", ContentFile(thumbnail_of(checked)), save=False)
    try:
        with transaction.atomic():
            return block_create(block=image, user=user)
    except Exception:
        image_files_delete(image)
        raise


def _safe(stem: str) -> str:
    cleaned = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "-" for c in stem)
    return cleaned.strip("-") or "image"


def image_files_delete(image: Image) -> None:
    for stored in (image.file, image.thumbnail):
        if stored.name:
            stored.storage.delete(stored.name)
