"""Forms for the sign-up and preference pages. They validate only; services write."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from subscriptions.emails import MAX_EMAIL_LENGTH, normalize_email
from subscriptions.localtime import available_timezones
from subscriptions.models import Subscriber, Topic
from subscriptions.services import MAX_PAUSE_WEEKS, Preferences

HOUR_CHOICES = [(hour, f"{hour:02d}:00") for hour in range(24)]


def _timezone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in available_timezones()]


class PreferencesForm(forms.Form):
    """What, when and how much a reader gets."""

    topics = forms.ModelMultipleChoiceField(
        queryset=Topic.objects.filter(is_active=True),
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": "Choose at least one topic.",
            "invalid_choice": "Choose topics from the list.",
            "invalid_pk_value": "Choose topics from the list.",
        },
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

    def preferences(self) -> Preferences:
        """The cleaned values as the services take them."""
        data = self.cleaned_data
        return Preferences(
            topics=tuple(data["topics"]),
            frequency=data["frequency"],
            weekday=data["weekday"],
            delivery_hour=data["delivery_hour"],
            time_zone=data["timezone"],
            papers_per_email=data["papers_per_email"],
        )


class SignupForm(PreferencesForm):
    """The home page form; `website` is a honeypot that people never see or fill in."""

    field_order = ["email", "topics", "frequency", "weekday", "delivery_hour", "timezone", "papers_per_email"]

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
