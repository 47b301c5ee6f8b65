from __future__ import annotations

from django import forms

from kinfold.organizations.models import Role
from kinfold.web.forms import UswdsFormMixin


class CodeForm(UswdsFormMixin, forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=20,
        help_text="The 6-digit code your authenticator app shows now, or one of your recovery codes.",
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "text",
                "autocapitalize": "none",
                "spellcheck": "false",
            }
        ),
    )


class EnrolForm(UswdsFormMixin, forms.Form):
    code = forms.CharField(
        label="The 6-digit code your app shows",
        max_length=10,
        help_text="After adding Kinfold to your app, type the code it shows for Kinfold.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": r"[0-9 ]*"}),
    )


class InviteForm(UswdsFormMixin, forms.Form):
    first_name = forms.CharField(label="First name", max_length=150)
    last_name = forms.CharField(label="Last name", max_length=150)
    email = forms.EmailField(label="Email address", help_text="The invitation link is sent here.")
    role = forms.ChoiceField(label="Role", choices=[("", "- Select -"), *Role.choices])
    title = forms.CharField(label="Job title", max_length=120, required=False)


class JoinForm(UswdsFormMixin, forms.Form):
    username = forms.CharField(
        label="Username",
        max_length=150,
        help_text="What you will type to sign in. Letters, digits and @ . + - _ only.",
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"}),
    )
    password1 = forms.CharField(
        label="Password",
        strip=False,
        help_text="At least 12 characters, not a common password, not only digits.",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label="The same password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


class RoleForm(UswdsFormMixin, forms.Form):
    role = forms.ChoiceField(label="New role", choices=Role.choices)
