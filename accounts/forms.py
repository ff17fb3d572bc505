from django import forms
from django.contrib.auth.forms import UserCreationForm

from companion.errors import ServiceError

from . import services
from .models import User


class SignupForm(UserCreationForm):
    """A username and password account, with an optional name shown on comments."""

    display_name = forms.CharField(
        label="Display name",
        required=False,
        strip=False,
        help_text="Shown next to your comments; your username is used when blank.",
        widget=forms.TextInput(attrs={"autocomplete": "nickname"}),
    )

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "display_name")

    def clean_username(self):
        username = super().clean_username()
        # Guest usernames are drawn from this namespace.
        if username and username.lower().startswith(services.GUEST_USERNAME_PREFIX):
            raise forms.ValidationError(
                "Usernames starting with “%(prefix)s” are reserved.",
                code="reserved_username",
                params={"prefix": services.GUEST_USERNAME_PREFIX},
            )
        return username

    def clean_display_name(self):
        value = self.cleaned_data["display_name"]
        if not value.strip():
            return ""
        try:
            return services.display_name_clean(display_name=value)
        except ServiceError as error:
            raise forms.ValidationError(error.message, code=error.code) from None
