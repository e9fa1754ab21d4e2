"""Date and time fields that read the same in every browser: ISO order, 24-hour, zone named.

A browser's own date-time picker formats by its locale (Chromium shows an en-GB reader
"11/20/2026, 02:05 PM"), so these are text inputs in the one order nobody misreads,
`YYYY-MM-DD HH:MM`, with the time zone the value is read in written beside the field. Times
are read and shown in the viewer's zone (the active time zone, set from the browser's cookie).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.html import format_html

DATE_TIME_FORMATS = ["%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
DATE_FORMATS = ["%Y-%m-%d"]
# Only these shapes: Django's own parsing would also take other ISO 8601 forms (offsets, no
# separators), which the note beside the field does not promise.
DATE_TIME_SHAPE = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?")
DATE_SHAPE = re.compile(r"\d{4}-\d{2}-\d{2}")
# A time of day alone ("14:03", "9:05:30"), for fields where it means today.
TIME_OF_DAY_SHAPE = re.compile(r"(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?")


def _typed(value, shape: re.Pattern, error: ValidationError):
    """The typed text without surrounding spaces, refused unless it has the promised shape."""
    if not isinstance(value, str):
        return value
    value = value.strip()
    if value and not shape.fullmatch(value):
        raise error
    return value


class IsoDateTimeInput(forms.DateTimeInput):
    """A text input for `YYYY-MM-DD HH:MM` (seconds when there are any), its zone beside it.

    With `seconds`, the time is always shown and asked for to the second; `hint` is a few
    words said after the format in the note (what an empty field means, say).
    """

    input_type = "text"
    example = "YYYY-MM-DD HH:MM"

    def __init__(self, attrs=None, *, seconds: bool = False, hint: str = ""):
        self.seconds = seconds
        self.hint = hint
        if seconds:
            self.example = "YYYY-MM-DD HH:MM:SS"
        defaults = {
            "placeholder": self.example,
            "autocomplete": "off",
            "spellcheck": "false",
            "size": "19",
            "maxlength": "19",
            "class": "iso-datetime",
        }
        super().__init__(attrs={**defaults, **(attrs or {})})

    def format_value(self, value):
        if isinstance(value, datetime):
            value = timezone.localtime(value) if timezone.is_aware(value) else value
            with_seconds = self.seconds or value.second
            return value.strftime("%Y-%m-%d %H:%M:%S" if with_seconds else "%Y-%m-%d %H:%M")
        return super().format_value(value)

    def note(self) -> str:
        note = f"{self.example}, 24-hour, {timezone.get_current_timezone_name()}"
        return f"{note} · {self.hint}" if self.hint else note

    def render(self, name, value, attrs=None, renderer=None):
        attrs = dict(attrs or {})
        note_id = f"{attrs['id']}_format" if attrs.get("id") else ""
        if note_id:
            described = [attrs.get("aria-describedby", ""), note_id]
            attrs["aria-describedby"] = " ".join(part for part in described if part)
        field = super().render(name, value, attrs, renderer)
        return format_html(
            '<span class="iso-input">{}<span class="iso-note"{}>{}</span></span>',
            field,
            format_html(' id="{}"', note_id) if note_id else "",
            self.note(),
        )


class IsoDateInput(IsoDateTimeInput):
    """The same for a day: `YYYY-MM-DD`."""

    example = "YYYY-MM-DD"

    def __init__(self, attrs=None):
        super().__init__(
            attrs={"size": "10", "maxlength": "10", "class": "iso-date", **(attrs or {})}
        )

    def format_value(self, value):
        if hasattr(value, "strftime"):
            return value.strftime("%Y-%m-%d")
        return super(forms.DateTimeInput, self).format_value(value)

    def note(self) -> str:
        return self.example


class IsoDateTimeField(forms.DateTimeField):
    """A moment typed as `YYYY-MM-DD HH:MM[:SS]` in the viewer's zone; `T` works as well.

    With `time_of_day_is_today`, a time alone (`14:03`, `14:03:22`) is that time today in the
    viewer's zone: the quick answer while something is happening.
    """

    widget = IsoDateTimeInput
    input_formats = DATE_TIME_FORMATS
    default_error_messages = {
        "invalid": "Enter a date and time as YYYY-MM-DD HH:MM, for example 2026-11-20 14:05.",
        "invalid_or_time": (
            "Enter a time as HH:MM:SS (today) or a date and time as YYYY-MM-DD HH:MM:SS, "
            "24-hour, for example 14:05:30 or 2026-11-20 14:05:30."
        ),
        "out_of_range": "That moment is outside the years this can store; check the year.",
    }

    def __init__(self, *, time_of_day_is_today: bool = False, **kwargs):
        self.time_of_day_is_today = time_of_day_is_today
        super().__init__(**kwargs)

    def _today_at(self, value):
        """A time alone ("14:03") as today's "YYYY-MM-DD 14:03" in the viewer's zone."""
        if not (self.time_of_day_is_today and isinstance(value, str)):
            return value
        time_of_day = TIME_OF_DAY_SHAPE.fullmatch(value.strip())
        if time_of_day is None:
            return value
        clock = f"{int(time_of_day['h']):02d}:{time_of_day['m']}"
        seconds = f":{time_of_day['s']}" if time_of_day["s"] else ""
        return f"{timezone.localdate():%Y-%m-%d} {clock}{seconds}"

    def to_python(self, value):
        code = "invalid_or_time" if self.time_of_day_is_today else "invalid"
        invalid = ValidationError(self.error_messages[code], "invalid")
        try:
            moment = super().to_python(_typed(self._today_at(value), DATE_TIME_SHAPE, invalid))
        except ValidationError as error:
            if error.code == "invalid":
                raise invalid from None
            raise
        if moment is not None:
            try:
                moment.astimezone(UTC)  # years 1 and 9999 can overflow on the way to UTC
            except OverflowError as error:
                raise ValidationError(
                    self.error_messages["out_of_range"], "out_of_range"
                ) from error
        return moment


class IsoDateField(forms.DateField):
    """A day typed as `YYYY-MM-DD`."""

    widget = IsoDateInput
    input_formats = DATE_FORMATS
    default_error_messages = {"invalid": "Enter a date as YYYY-MM-DD, for example 2026-11-20."}

    def to_python(self, value):
        invalid = ValidationError(self.error_messages["invalid"], "invalid")
        return super().to_python(_typed(value, DATE_SHAPE, invalid))
