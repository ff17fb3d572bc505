"""Admin forms: the reason every action asks for, durations, and the sanction form."""
from datetime import timedelta

from django import forms
from django.contrib.auth import get_user_model

from companion.errors import ServiceError

from .models import BlockedTerm, RoomSettings, Sanction

# (minutes, label): from one minute to days, as the issue asks.
DURATIONS = [
    (1, "1 minute"),
    (5, "5 minutes"),
    (10, "10 minutes"),
    (30, "30 minutes"),
    (60, "1 hour"),
    (6 * 60, "6 hours"),
    (24 * 60, "1 day"),
    (3 * 24 * 60, "3 days"),
    (7 * 24 * 60, "7 days"),
    (30 * 24 * 60, "30 days"),
]
DEFAULT_TIMEOUT_MINUTES = 10

REASON_HELP = "Written to the moderation log (why), not shown to the author."


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=300, required=False, help_text=REASON_HELP)


class TimeoutForm(ReasonForm):
    minutes = forms.TypedChoiceField(
        label="Duration", choices=DURATIONS, coerce=int, initial=DEFAULT_TIMEOUT_MINUTES
    )

    field_order = ["minutes", "reason"]

    def duration(self) -> timedelta:
        return timedelta(minutes=self.cleaned_data["minutes"])


class SanctionForm(forms.ModelForm):
    """A new time-out or ban, by username."""

    username = forms.CharField(max_length=150, help_text="The account to sanction.")
    minutes = forms.TypedChoiceField(
        label="Duration",
        choices=DURATIONS,
        coerce=int,
        initial=DEFAULT_TIMEOUT_MINUTES,
        required=False,
        help_text="For a time-out; a ban has no end.",
    )

    class Meta:
        model = Sanction
        fields = ["kind", "reason"]

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request
        self.fields["reason"].help_text = REASON_HELP
        self.order_fields(["username", "kind", "minutes", "reason"])

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise forms.ValidationError("No account with that username.")
        return user

    def clean(self):
        from .services import sanction_precheck

        data = super().clean()
        user = data.get("username")
        if data.get("kind") == Sanction.Kind.TIMEOUT and not data.get("minutes"):
            self.add_error("minutes", "Choose how long the time-out lasts.")
        if user is not None and self.request is not None:
            try:
                sanction_precheck(user=user, by=self.request.user)
            except ServiceError as error:
                self.add_error("username", error.message)
        return data


class LogReasonMixin(forms.ModelForm):
    log_reason = forms.CharField(label="Reason", max_length=300, required=False, help_text=REASON_HELP)


class BlockedTermForm(LogReasonMixin):
    class Meta:
        model = BlockedTerm
        fields = ["event", "pattern", "is_regex", "action", "is_active", "note"]
        widgets = {"pattern": forms.TextInput(attrs={"size": 60, "spellcheck": "false"})}


class RoomSettingsForm(LogReasonMixin):
    class Meta:
        model = RoomSettings
        fields = ["event", "slow_mode_seconds", "who_may_post", "min_account_age_minutes", "rate_count", "rate_window"]
