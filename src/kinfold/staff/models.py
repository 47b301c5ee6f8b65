"""Staff accounts' life cycle: invitations to join an organisation. (Second factors are django-otp's devices.)

An invitation keeps only the SHA-256 of its token, like a referral's one-time link: the link in the email is the
only copy of the token, and it carries nothing but chance.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from kinfold.organizations.models import Membership, Organization, Role


class Invitation(models.Model):
    """A lead's invitation to a person to join her organisation in a role. Single use; it expires."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations")
    role = models.CharField(max_length=32, choices=Role.choices)
    title = models.CharField(max_length=120, blank=True)
    email = models.EmailField()
    first_name = models.CharField(max_length=150)
    last_name = models.CharField(max_length=150)
    invited_by = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="invitations_sent")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="invitation"
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "accepted_at", "withdrawn_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("created_at")), name="invitation_expires_after_sent"
            ),
            models.CheckConstraint(
                condition=models.Q(accepted_at__isnull=True) | models.Q(withdrawn_at__isnull=True),
                name="invitation_accepted_or_withdrawn_not_both",
            ),
        ]

    def __str__(self) -> str:
        return f"Invitation of {self.first_name} {self.last_name} to {self.organization}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()
