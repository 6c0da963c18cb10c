"""Forms for the sign-up and preference pages. They validate only; services write."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from subscriptions.emails import MAX_EMAIL_LENGTH, normalize_email
from subscriptions.interests import (
    MAX_PHRASE_CHARS,
    MAX_PHRASES,
    InterestError,
    Interests,
    split_phrases,
    validate_phrases,
)
from subscriptions.localtime import available_timezones
from subscriptions.models import Subscriber, Topic
from subscriptions.services import MAX_PAUSE_WEEKS, NOTHING_CHOSEN, Preferences

HOUR_CHOICES = [(hour, f"{hour:02d}:00") for hour in range(24)]


def _timezone_choices() -> list[tuple[str, Any]]:
    """UTC, then the zones grouped by region ("Europe" → "Paris"), the rest under "Other"
    (the browser's own zone is put first by static/js/signup.js)."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for name in available_timezones():
        region, _, place = name.partition("/")
        if name == "UTC":
            continue
        label = place.replace("_", " ").replace("/", " / ") if place else name
        groups.setdefault(region if place else "Other", []).append((name, label))
    other = groups.pop("Other", [])
    return [("UTC", "UTC"), *sorted(groups.items()), *([("Other", other)] if other else [])]


class PhrasesField(forms.CharField):
    """A textarea of phrases, one per line (commas accepted too), checked against the limits of
    subscriptions.interests; `clean` gives the cleaned list."""

    def __init__(self, *, kind: str, **kwargs: Any) -> None:
        self.kind = kind
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", MAX_PHRASES * (MAX_PHRASE_CHARS + 2))
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 3, "cols": 40}))
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return "\n".join(str(v) for v in value)
        return value

    def clean(self, value: Any) -> list[str]:
        text = super().clean(value)
        try:
            return validate_phrases(self.kind, split_phrases(text))
        except InterestError as exc:
            raise ValidationError(str(exc)) from exc


class TopicChoiceField(forms.ModelMultipleChoiceField[Topic]):
    """Topic checkboxes; a value that is not a plausible primary key (say a 30-digit number,
    which SQLite cannot even bind) is refused before any query."""

    def clean(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            for pk in value:
                text = str(pk)
                if not text.isascii() or not text.isdigit() or len(text) > 18:
                    raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().clean(value)


class PreferencesForm(forms.Form):
    """What, when and how much a reader gets."""

    topics = TopicChoiceField(
        queryset=Topic.objects.filter(is_active=True),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        error_messages={
            "invalid_choice": "Choose topics from the list.",
            "invalid_pk_value": "Choose topics from the list.",
        },
    )
    keywords = PhrasesField(
        kind="keywords",
        label="Your own keywords",
        help_text="Papers that mention one come to you even outside your topics. One per line, "
        "e.g. “KV cache” or “protein*” (the * matches any ending).",
    )
    authors = PhrasesField(
        kind="authors",
        label="Authors you follow",
        help_text="Their new papers come first. One per line, as papers list them: “Geoffrey Hinton” "
        "also follows “G. Hinton”.",
    )
    exclude_words = PhrasesField(
        kind="exclude_words",
        label="Leave out papers that mention",
        help_text="One word or phrase per line, e.g. “quantum”.",
    )
    frequency = forms.ChoiceField(
        choices=Subscriber.Frequency.choices,
        initial=Subscriber.Frequency.DAILY,
        widget=forms.RadioSelect,
    )
    weekday = forms.TypedChoiceField(
        choices=Subscriber.WEEKDAY_CHOICES,
        coerce=int,
        initial=0,
        required=False,
        empty_value=0,  # type: ignore[arg-type]  # django-stubs: any value may stand for "empty"
        label="Day of the week",
    )
    delivery_hour = forms.TypedChoiceField(
        choices=HOUR_CHOICES,
        coerce=int,
        initial=7,
        label="Delivery time",
        help_text="In your time zone.",
    )
    timezone = forms.ChoiceField(choices=_timezone_choices, initial="UTC", label="Time zone")
    papers_per_email = forms.TypedChoiceField(
        choices=Subscriber.PAPERS_PER_EMAIL_CHOICES,
        coerce=int,
        initial=10,
        label="Papers per email",
        widget=forms.RadioSelect,
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        nothing = (
            "topics" in data and not data.get("topics") and not (data.get("keywords") or data.get("authors"))
        )
        if nothing and not self.has_error("keywords") and not self.has_error("authors"):
            self.add_error("topics", NOTHING_CHOSEN)
        return data

    def interests(self) -> Interests:
        data = self.cleaned_data
        return Interests(
            keywords=tuple(data.get("keywords") or ()),
            authors=tuple(data.get("authors") or ()),
            exclude_words=tuple(data.get("exclude_words") or ()),
        )

    def preferences(self) -> Preferences:
        """The cleaned values as the services take them."""
        data = self.cleaned_data
        return Preferences(
            interests=self.interests(),
            topics=tuple(data["topics"]),
            frequency=data["frequency"],
            weekday=data["weekday"],
            delivery_hour=data["delivery_hour"],
            time_zone=data["timezone"],
            papers_per_email=data["papers_per_email"],
        )


class SignupForm(PreferencesForm):
    """The home page form; `website` is a honeypot that people never see or fill in. It offers
    keywords too; authors and excluded words are set in the preference center."""

    field_order = [
        "email",
        "topics",
        "keywords",
        "frequency",
        "weekday",
        "delivery_hour",
        "timezone",
        "papers_per_email",
    ]
    authors = None  # type: ignore[assignment]
    exclude_words = None  # type: ignore[assignment]

    email = forms.CharField(
        max_length=MAX_EMAIL_LENGTH + 64,
        strip=False,
        label="Email",
        widget=forms.EmailInput(attrs={"autocomplete": "email", "placeholder": "you@example.com"}),
    )
    website = forms.CharField(
        required=False,
        label="Leave this field empty",
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def clean_email(self) -> str:
        return normalize_email(self.cleaned_data["email"])

    def is_bot(self) -> bool:
        return bool(self.data.get("website"))


class PauseForm(forms.Form):
    weeks = forms.TypedChoiceField(
        choices=[(weeks, f"{weeks} week{'s' if weeks > 1 else ''}") for weeks in (1, 2, 4, 8, 12)],
        coerce=int,
        label="Pause for",
    )

    def clean_weeks(self) -> int:
        weeks: int = self.cleaned_data["weeks"]
        if not 1 <= weeks <= MAX_PAUSE_WEEKS:
            raise ValidationError("Choose how many weeks to pause.")
        return weeks


class DeleteForm(forms.Form):
    confirm = forms.BooleanField(
        label="Yes, delete my subscription and my data",
        error_messages={"required": "Tick the box to confirm."},
    )
