"""Changes to consent, one module per noun: ``directives`` (record, new version, revoke, expiry event),
``court_orders``, ``emergencies`` (break-the-glass and the privacy officers' notifications) and
``restrictions``. Each function is one transaction that asks the door, validates, writes and audits; nothing
here decides access (``kinfold.access``). The accounting of disclosures is written by the door itself
(``access.accounting``).

The names are gathered here so that callers write ``services.consent_record``.
"""

from kinfold.consent.services.court_orders import (
    ONLY_PRIVACY_OFFICERS,
    court_order_findings_record,
    court_order_record,
    part2_waiting,
)
from kinfold.consent.services.directives import (
    COUNSELLING_NOTES_ALONE,
    ConsentTerms,
    consent_expiry_event_record,
    consent_new_version,
    consent_record,
    consent_revoke,
    consent_sensitivity,
    covered_categories,
    covered_kinds,
    right_to_revoke_text,
    validate_terms,
)
from kinfold.consent.services.emergencies import (
    emergency_declare,
    emergency_notification_send,
    emergency_records_opened,
    emergency_window,
)
from kinfold.consent.services.restrictions import (
    END_REASON_REQUIRED,
    END_WHO_ASKED,
    restriction_category,
    restriction_decide,
    restriction_end,
    restriction_request,
)

__all__ = [
    "COUNSELLING_NOTES_ALONE",
    "END_REASON_REQUIRED",
    "END_WHO_ASKED",
    "ONLY_PRIVACY_OFFICERS",
    "ConsentTerms",
    "consent_expiry_event_record",
    "consent_new_version",
    "consent_record",
    "consent_revoke",
    "consent_sensitivity",
    "court_order_findings_record",
    "court_order_record",
    "covered_categories",
    "covered_kinds",
    "emergency_declare",
    "emergency_notification_send",
    "emergency_records_opened",
    "emergency_window",
    "part2_waiting",
    "restriction_category",
    "restriction_decide",
    "restriction_end",
    "restriction_request",
    "right_to_revoke_text",
    "validate_terms",
]
