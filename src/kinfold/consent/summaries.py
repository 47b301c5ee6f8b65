"""Plain-language sentences (about grade 6) for each consent, in English and Spanish.

"Hope Recovery Center may share your treatment attendance and medication with Lakeview County Child
Protective Services, for your court case, until 1 June 2027."
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from kinfold import clock
from kinfold.access.vocabulary import OrganizationClass, kind_table, version_kinds
from kinfold.consent.models import ConsentVersion

CATEGORY_WORDS = {
    "en": {
        "sud_treatment": "your substance use treatment (like attendance and medication)",
        "mental_health": "your mental health care (like therapy notes)",
        "general_health": "your general health care (like prenatal visits)",
        "child_welfare": "your child welfare case",
        "legal": "your court and legal matters",
        "social_needs": "your needs like housing, food and rides",
        "contact": "your name and contact details",
    },
    "es": {
        "sud_treatment": "su tratamiento por uso de sustancias (como asistencia y medicamentos)",
        "mental_health": "su atención de salud mental (como notas de terapia)",
        "general_health": "su atención de salud general (como visitas prenatales)",
        "child_welfare": "su caso de bienestar infantil",
        "legal": "sus asuntos legales y de la corte",
        "social_needs": "sus necesidades como vivienda, comida y transporte",
        "contact": "su nombre y datos de contacto",
    },
}
PURPOSE_WORDS = {
    "en": {
        "treatment": "your treatment",
        "payment": "paying for your care",
        "operations": "running their services",
        "care_coordination": "working together on your care",
        "child_welfare_case": "your child welfare case",
        "court_proceeding": "your court case",
        "research": "research",
        "emergency": "a medical emergency",
    },
    "es": {
        "treatment": "su tratamiento",
        "payment": "el pago de su atención",
        "operations": "el manejo de sus servicios",
        "care_coordination": "trabajar juntos en su atención",
        "child_welfare_case": "su caso de bienestar infantil",
        "court_proceeding": "su caso en la corte",
        "research": "investigación",
        "emergency": "una emergencia médica",
    },
}
CLASS_WORDS = {
    "en": {c.value: c.label for c in OrganizationClass},
    "es": {
        "care_team": "las organizaciones de mi equipo de atención",
        "treating_providers": "mis proveedores de salud",
        "part2_programs": "mis programas de tratamiento por uso de sustancias",
        "child_welfare": "las agencias de bienestar infantil de mi caso",
        "courts": "las cortes de mi caso",
        "community_supports": "los programas comunitarios, de apoyo entre pares y de visitas al hogar",
    },
}
MONTHS_ES = [
    "enero", "febrero", "marzo", "abril", "mayo", "junio",
    "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre",
]  # fmt: skip


def _join(items: list[str], language: str) -> str:
    word = "y" if language == "es" else "and"
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {word} {items[-1]}"


def _date(at: datetime, language: str) -> str:
    day = clock.local_date(at)
    if language == "es":
        return f"{day.day} de {MONTHS_ES[day.month - 1]} de {day.year}"
    return f"{day.day} {day:%B %Y}"


def long_date(day: date, language: str) -> str:
    """A date in words: "4 December 2026", "4 de diciembre de 2026"."""
    if language == "es":
        return f"{day.day} de {MONTHS_ES[day.month - 1]} de {day.year}"
    return f"{day.day} {day:%B %Y}"


def kinds_words(kinds: Iterable[str], language: str) -> str:
    """The kinds a version lists, in the words the parent reads, in the kinds table's order: exactly what
    the policy will let its recipients see (CONSENT-RULES, "Kinds of information")."""
    listed = set(kinds)
    return _join([k.words.in_(language) for k in kind_table().kinds if k.key in listed], language)


def version_summary(version: ConsentVersion, *, language: str | None = None) -> str:
    """One sentence a parent can read: who may share what with whom, for what, until when."""
    lang = "es" if (language or version.language) == "es" else "en"
    disclosers = [o.name for o in version.discloser_orgs.all()] + [
        CLASS_WORDS[lang].get(c, c) for c in version.discloser_classes
    ]
    recipients = (
        [m.display_name for m in version.recipient_people.all()]
        + [o.name for o in version.recipient_orgs.all()]
        + [CLASS_WORDS[lang].get(c, c) for c in version.recipient_classes]
    )
    info = kinds_words(version_kinds(version.kinds, version.categories), lang)
    purpose = version.purpose_description or _join([PURPOSE_WORDS[lang].get(p, p) for p in version.purposes], lang)
    if version.expires_at is not None:
        until = ("hasta el " if lang == "es" else "until ") + _date(version.expires_at, lang)
    else:
        until = ("hasta " if lang == "es" else "until ") + version.expiry_event
    who = _join(disclosers, lang)
    whom = _join(recipients, lang)
    if lang == "es":
        who = who[:1].upper() + who[1:]
        return f"{who} puede compartir {info} con {whom}, para {purpose}, {until}."
    who = who[:1].upper() + who[1:]
    return f"{who} may share {info} with {whom}, for {purpose}, {until}."
