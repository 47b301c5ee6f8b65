"""Plain-language sentences (about grade 6) for each consent, in the language of the consent.

"Hope Recovery Center may share your treatment attendance and medication with Lakeview County Child
Protective Services, for your court case, until 1 June 2027."

The English is written here once and goes through Django's gettext; the Spanish lives in
``locale/es/LC_MESSAGES/django.po``. Each function words its sentence under ``translation.override`` for the
language asked, whatever the request's own language. The kinds of information are data
(``access/data/kinds.yaml``, in both languages). Nothing here reads the database beyond the version given.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.utils import translation
from django.utils.dates import MONTHS
from django.utils.functional import Promise
from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_lazy as _

from kinfold import clock
from kinfold.access.vocabulary import OrganizationClass, kind_table, version_kinds
from kinfold.consent.models import ConsentVersion

# What each purpose is for, as the end of "…, for ___, until …".
PURPOSE_TEXT: dict[str, Promise] = {
    "treatment": _("your treatment"),
    "payment": _("paying for your care"),
    "operations": _("running their services"),
    "care_coordination": _("working together on your care"),
    "child_welfare_case": _("your child welfare case"),
    "court_proceeding": _("your court case"),
    "research": _("research"),
    "emergency": _("a medical emergency"),
}


def language_code(language: str | None) -> str:
    """The consent pages speak English or Spanish."""
    return "es" if language == "es" else "en"


def purpose_words(purpose: str, language: str) -> str:
    text = PURPOSE_TEXT.get(purpose)
    if text is None:
        return purpose
    with translation.override(language_code(language)):
        return str(text)


def class_words(value: str, language: str) -> str:
    """A group of places a consent may name (42 CFR 2.31(a)(4)): the model's label is the English, and the msgid."""
    if value not in OrganizationClass.values:
        return value
    with translation.override(language_code(language)):
        return gettext(str(OrganizationClass(value).label))


class _WordsByLanguage(Mapping[str, dict[str, str]]):
    """``PURPOSE_WORDS["es"]["treatment"]``: the words of every value, worded when asked, through gettext.
    Kept for the callers that read a language's words as a dictionary (parent mode, the accounting)."""

    def __init__(self, words: Any, values: Iterable[str]) -> None:
        self._words = words
        self._values = tuple(values)

    def __getitem__(self, language: str) -> dict[str, str]:
        if language not in ("en", "es"):
            raise KeyError(language)
        return {value: self._words(value, language) for value in self._values}

    def __iter__(self) -> Iterator[str]:
        return iter(("en", "es"))

    def __len__(self) -> int:
        return 2


PURPOSE_WORDS: Mapping[str, dict[str, str]] = _WordsByLanguage(purpose_words, PURPOSE_TEXT)
CLASS_WORDS: Mapping[str, dict[str, str]] = _WordsByLanguage(class_words, OrganizationClass.values)


def month_names(language: str) -> list[str]:
    """The months as the long date writes them (Django's own translations: "enero", …)."""
    with translation.override(language_code(language)):
        return [str(MONTHS[n]) for n in range(1, 13)]


def __getattr__(name: str) -> Any:
    # ``MONTHS_ES`` is read by the consent journey's browser test; it is worded through gettext when read.
    if name == "MONTHS_ES":
        return month_names("es")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def join_words(items: list[str]) -> str:
    """Call under the sentence's language: "a, b and c", "a, b y c"."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {gettext('and')} {items[-1]}"


def _long_date(day: date) -> str:
    # Translators: a date in words, e.g. "4 December 2026"; Spanish "4 de diciembre de 2026".
    return pgettext("long date", "%(day)s %(month)s %(year)s") % {
        "day": day.day,
        "month": MONTHS[day.month],
        "year": day.year,
    }


def long_date(day: date, language: str) -> str:
    """A date in words: "4 December 2026", "4 de diciembre de 2026"."""
    with translation.override(language_code(language)):
        return _long_date(day)


def _capital(words: str) -> str:
    return words[:1].upper() + words[1:]


def kinds_words(kinds: Iterable[str], language: str) -> str:
    """The kinds a version lists, in the words the parent reads, in the kinds table's order: exactly what
    the policy will let its recipients see (CONSENT-RULES, "Kinds of information")."""
    listed = set(kinds)
    lang = language_code(language)
    with translation.override(lang):
        return join_words([k.words.in_(lang) for k in kind_table().kinds if k.key in listed])


@dataclass(frozen=True)
class Parties:
    """The names a version gives its parties, in the order its summary says them: the organisations that may
    share (by name), the people who may receive, the organisations that may receive."""

    disclosers: tuple[str, ...] = ()
    recipient_people: tuple[str, ...] = ()
    recipient_orgs: tuple[str, ...] = ()


def parties_of(version: ConsentVersion) -> Parties:
    """A version's named parties, read from its links (prefetched, or one query each)."""
    return Parties(
        disclosers=tuple(o.name for o in version.discloser_orgs.all()),
        recipient_people=tuple(m.display_name for m in version.recipient_people.all()),
        recipient_orgs=tuple(o.name for o in version.recipient_orgs.all()),
    )


def version_summary(version: ConsentVersion, *, language: str | None = None, parties: Parties | None = None) -> str:
    """One sentence a parent can read: who may share what with whom, for what, until when. ``parties``: the names
    of its parties when the caller read them for many versions at once (else they are read from its links)."""
    lang = language_code(language or version.language)
    parties = parties or parties_of(version)
    disclosers = [*parties.disclosers, *(class_words(c, lang) for c in version.discloser_classes)]
    recipients = [
        *parties.recipient_people,
        *parties.recipient_orgs,
        *(class_words(c, lang) for c in version.recipient_classes),
    ]
    info = kinds_words(version_kinds(version.kinds, version.categories), lang)
    with translation.override(lang):
        purpose = version.purpose_description or join_words([purpose_words(p, lang) for p in version.purposes])
        if version.expires_at is not None:
            until = pgettext("consent ends on a date", "until %(day)s") % {
                "day": _long_date(clock.local_date(version.expires_at))
            }
        else:
            until = pgettext("consent ends with an event", "until %(event)s") % {"event": version.expiry_event}
        return gettext("%(who)s may share %(information)s with %(whom)s, for %(purpose)s, %(until)s.") % {
            "who": _capital(join_words(disclosers)),
            "information": info,
            "whom": join_words(recipients),
            "purpose": purpose,
            "until": until,
        }
