"""Spanish is a first-class language for parents: the consent pages' words go through Django's gettext
(locale/es/LC_MESSAGES/django.po), not dictionaries keyed by English text. Every word has its Spanish, the
compiled catalogue says what the .po says, and a Spanish consent reads in Spanish from its first question to
its error messages."""

from __future__ import annotations

import ast
import gettext
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from django.utils import translation

import kinfold
from kinfold import clock
from kinfold.access.vocabulary import OrganizationClass
from kinfold.consent import forms as consent_forms
from kinfold.consent import summaries
from kinfold.consent.models import ConsentDirective
from kinfold.families import services as family_services
from kinfold.organizations.models import Role
from tests.factories import consent_team_wide, make_family, staff, viewer_of
from tests.support import client_for, text

SRC = Path(kinfold.__file__).parent
PO = SRC / "locale" / "es" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")


# --- the catalogue ---------------------------------------------------------------------------------------------


def _unquote(line: str) -> str:
    return ast.literal_eval(line)  # a .po string is a C string, which Python reads the same way


def po_entries(path: Path = PO) -> list[dict[str, Any]]:
    """Each live entry of a .po: msgctxt, msgid, msgid_plural, msgstr (a list: one, or one per plural form), and
    its flags. Obsolete entries (``#~``) are not part of the catalogue."""
    entries: list[dict[str, Any]] = []
    entry: dict[str, Any] = {}
    key: str | None = None

    def finish() -> None:
        nonlocal entry, key
        if "msgid" in entry:
            entries.append(entry)
        entry, key = {}, None

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            finish()
        elif line.startswith("#,"):
            if "msgid" in entry:
                finish()
            entry.setdefault("flags", set()).update(f.strip() for f in line[2:].split(","))
        elif line.startswith("#"):
            if "msgid" in entry and not line.startswith("#~"):
                finish()
        elif line.startswith('"'):
            assert key is not None, f"a string continues nothing: {raw!r}"
            if key.startswith("msgstr"):
                entry["msgstr"][-1] += _unquote(line)
            else:
                entry[key] += _unquote(line)
        else:
            word, _, rest = line.partition(" ")
            if word in ("msgctxt", "msgid") and "msgid" in entry:
                finish()
            if word.startswith("msgstr"):
                entry.setdefault("msgstr", []).append(_unquote(rest))
                key = "msgstr"
            else:
                entry[word] = _unquote(rest)
                key = word
    finish()
    return entries


def catalogue_of(entries: list[dict[str, Any]]) -> dict[Any, str]:
    """The entries as ``gettext.GNUTranslations`` keys its catalogue."""
    catalogue: dict[Any, str] = {}
    for e in entries:
        msgid = f"{e['msgctxt']}\x04{e['msgid']}" if "msgctxt" in e else e["msgid"]
        if "msgid_plural" in e:
            for n, text_ in enumerate(e["msgstr"]):
                catalogue[(msgid, n)] = text_
        else:
            catalogue[msgid] = e["msgstr"][0]
    return catalogue


def mo_catalogue(path: Path) -> dict[Any, str]:
    with path.open("rb") as f:
        return dict(gettext.GNUTranslations(f)._catalog)  # type: ignore[attr-defined]


def test_every_word_has_its_spanish_and_none_is_fuzzy():
    entries = [e for e in po_entries() if e["msgid"]]  # the header has an empty msgid
    assert len(entries) > 200
    missing = [e["msgid"] for e in entries if not all(s.strip() for s in e["msgstr"])]
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in e.get("flags", set())]
    assert missing == [] and fuzzy == []
    for e in entries:
        if "python-format" in e.get("flags", set()):
            wanted = sorted(set(re.findall(r"%\((\w+)\)s", e["msgid"] + e.get("msgid_plural", ""))))
            for spanish in e["msgstr"]:
                assert sorted(set(re.findall(r"%\((\w+)\)s", spanish))) == wanted, e["msgid"]


def test_the_compiled_catalogue_is_in_step_with_the_po():
    compiled = mo_catalogue(MO)
    expected = catalogue_of(po_entries())
    compiled.pop("", None)
    expected.pop("", None)
    assert compiled == expected, "run `make messages` (msgfmt) and commit django.mo"


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="msgfmt is not installed")
def test_msgfmt_compiles_the_po_to_the_committed_catalogue(tmp_path):
    fresh = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "--check", "-o", str(fresh), str(PO)], check=True)
    assert mo_catalogue(fresh) == mo_catalogue(MO)


# --- no words keyed by English text, or by language, in the code -----------------------------------------------


def test_the_consent_forms_keep_no_dictionaries_of_words():
    for gone in ("ERRORS_ES", "WORDS", "FIELD_WORDS", "CHOICE_WORDS", "PURPOSE_CHOICES", "CATEGORY_CHOICES"):
        assert not hasattr(consent_forms, gone), gone
    for gone in ("CATEGORY_WORDS",):
        assert not hasattr(summaries, gone), gone
    for module in (SRC / "consent" / "forms.py", SRC / "consent" / "summaries.py", SRC / "consent/views/directives.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if not isinstance(node, ast.Dict):
                continue
            keys = [k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)]
            assert not {"en", "es"} & set(keys), f"{module.name}:{node.lineno}: words keyed by language"
            assert not [k for k in keys if " " in k], f"{module.name}:{node.lineno}: a dictionary keyed by text"


def test_the_capture_templates_take_no_dictionary_of_words():
    for name in ("capture.html", "_sign_step.html", "_field.html", "_kinds.html", "_choices.html"):
        source = (SRC / "consent" / "templates" / "consent" / name).read_text()
        assert not re.search(r"\{\{\s*t\.", source), name


# --- every message and word the consent pages can show has its Spanish ----------------------------------------


def _service_messages() -> set[str]:
    """The messages ``consent.services.directives`` can raise on the way to recording a consent: the string
    literals put in ``errors`` or given to ``ValidationError`` in those functions, and the module's constants
    they use."""
    tree = ast.parse((SRC / "consent" / "services" / "directives.py").read_text())
    wanted = {
        "validate_terms",
        "signer_errors",
        "_drawn_signature_error",
        "_save_version",
        "consent_record",
        "consent_new_version",
        "long_expiry_error",
    }
    constants = {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    found: set[str] = set()
    for function in tree.body:
        if not (isinstance(function, ast.FunctionDef) and function.name in wanted):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name) and t.value.id == "errors"
                for t in node.targets
            ):
                values = [node.value]
            elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "ValidationError":
                values = list(node.args)
            elif isinstance(node, ast.Return) and node.value is not None and function.name.endswith("_error"):
                values = [node.value]
            else:
                values = []
            for value in values:
                for part in ast.walk(value):
                    if isinstance(part, ast.Constant) and isinstance(part.value, str) and " " in part.value:
                        found.add(part.value)
                    elif isinstance(part, ast.Name) and part.id in constants and " " in constants[part.id]:
                        found.add(constants[part.id])
    return found


def test_every_message_of_the_consent_services_has_its_spanish():
    messages = _service_messages()
    assert "Choose who may share her information." in messages
    assert any(m.startswith("This consent would last until %(until)s") for m in messages)
    assert len(messages) > 25
    untranslated = [m for m in sorted(messages) if consent_forms.service_message(m, "es") == m]
    assert untranslated == []


def test_every_purpose_and_group_of_places_has_its_spanish():
    for value in summaries.PURPOSE_TEXT:
        assert summaries.purpose_words(value, "es") != summaries.purpose_words(value, "en")
    for value in consent_forms.PURPOSE_LABELS:
        assert consent_forms.purpose_label(value, "es") != consent_forms.purpose_label(value, "en")
    for c in OrganizationClass:
        assert summaries.class_words(c.value, "en") == c.label
        assert summaries.class_words(c.value, "es") != c.label
    # The dictionaries parent mode and the accounting read are the same words.
    assert summaries.CLASS_WORDS["es"]["courts"] == "las cortes de mi caso"
    assert summaries.PURPOSE_WORDS["en"]["court_proceeding"] == "your court case"


def test_dates_and_lists_are_worded_in_the_language_asked_whatever_the_active_one():
    day = clock.today().replace(month=12, day=4)
    with translation.override("es"):
        assert summaries.long_date(day, "en") == f"4 December {day.year}"
    with translation.override("en"):
        assert summaries.long_date(day, "es") == f"4 de diciembre de {day.year}"
        assert summaries.MONTHS_ES[11] == "diciembre"
        assert consent_forms.errors_summary(1, "es") == "Por favor corrija 1 cosa abajo."
        assert consent_forms.errors_summary(3, "es") == "Por favor corrija 3 cosas abajo."
        assert consent_forms.errors_summary(3, "en") == "Please fix 3 things below."
    assert translation.get_language() == "en"


# --- a Spanish consent reads in Spanish --------------------------------------------------------------------------


@pytest.fixture
def world(db, coordinator, caseworker, treatment_org, cps_org) -> dict[str, Any]:
    family = make_family(coordinator, given_name="Maria", family_name="Lopez")
    counsellor = staff(treatment_org, Role.SUD_COUNSELOR)
    for member, role in ((caseworker, Role.CPS_CASEWORKER), (counsellor, Role.SUD_COUNSELOR)):
        family_services.care_team_member_add(viewer=viewer_of(coordinator), family=family, membership=member, role=role)
    consent_team_wide(family, by=coordinator)
    return {"family": family, "coordinator": coordinator, "treatment_org": treatment_org, "cps_org": cps_org}


def capture_url(world: dict[str, Any], lang: str) -> str:
    return reverse("consent:new", args=[world["family"].pk]) + f"?template=cps_status&lang={lang}"


ENGLISH_ON_THE_PAGE = (
    "Who may share your information",
    "Next: read it and sign",
    "Places on your care team that may share",
    "Your child welfare (CPS) case",
    "Substance use treatment",
    "When something happens",
    "All of it",
    "optional",
)
SPANISH_ON_THE_PAGE = (
    "1. ¿Quién puede compartir su información?",
    "Siguiente: leer y firmar",
    "Lugares de su equipo que pueden compartir",
    "Su caso de bienestar infantil (CPS)",
    "Tratamiento por uso de sustancias",
    "Cuando pase algo",
    "Todo",
    "(opcional)",
    "Cancelar",
)


def test_a_spanish_capture_page_is_in_spanish_and_an_english_one_in_english(world):
    client = client_for(world["coordinator"])
    spanish = text(client.get(capture_url(world, "es")))
    for words in SPANISH_ON_THE_PAGE:
        assert words in spanish, words
    for words in ENGLISH_ON_THE_PAGE:
        assert words not in spanish, words
    # The request's own language is untouched: the next page, in English, has no Spanish.
    english = text(client.get(capture_url(world, "en")))
    for words in ENGLISH_ON_THE_PAGE:
        assert words in english, words
    for words in ("¿Quién puede compartir", "Siguiente: leer y firmar", "Cancelar", "(opcional)"):
        assert words not in english, words


def test_a_spanish_consent_with_mistakes_says_what_to_fix_in_spanish(world):
    client = client_for(world["coordinator"])
    data = {
        "template_key": "cps_status",
        "title": "CPS status updates",
        "language": "es",
        "discloser_orgs": [],
        "recipient_orgs": [world["cps_org"].pk],
        "purposes": ["court_proceeding", "child_welfare_case"],
        "kinds": [],
        "ends": "date",
        "expires_on": "not a date",
        "action": "preview",
    }
    response = client.post(capture_url(world, "es"), data)
    assert response.status_code == 400
    html = text(response)
    errors = dict(re.findall(r'<span class="usa-error-message" id="id_(\w+)_error" role="alert">([^<]*)</span>', html))
    assert errors["expires_on"] == "Escriba una fecha válida."
    assert "Por favor corrija 1 cosa abajo." in html
    data["expires_on"] = (clock.today() - timedelta(days=1)).isoformat()
    html = text(client.post(capture_url(world, "es"), data))
    errors = dict(re.findall(r'<span class="usa-error-message" id="id_(\w+)_error" role="alert">([^<]*)</span>', html))
    assert errors == {
        "discloser_orgs": "Elija quién puede compartir su información.",
        "purposes": (
            "Un permiso para un caso en la corte debe ir solo (42 CFR 2.31(d)). Haga un permiso aparte para la corte."
        ),
        "categories": "Elija qué tipo de información se puede compartir.",
        "expires_on": "La fecha de fin tiene que ser en el futuro.",
    }
    assert "Por favor corrija 4 cosas abajo." in html
    assert not ConsentDirective.objects.filter(title="CPS status updates").exists()


def test_the_spanish_reading_step_is_in_spanish(world):
    client = client_for(world["coordinator"])
    end = clock.today().replace(month=12, day=4)
    if end <= clock.today():
        end = end.replace(year=end.year + 1)
    data = {
        "template_key": "cps_status",
        "title": "CPS status updates",
        "language": "es",
        "discloser_orgs": [world["treatment_org"].pk],
        "recipient_orgs": [world["cps_org"].pk],
        "purposes": ["child_welfare_case"],
        "kinds": ["treatment_attendance"],
        "ends": "date",
        "expires_on": end.isoformat(),
        "action": "preview",
    }
    html = text(client.post(capture_url(world, "es"), data))
    assert f"para su caso de bienestar infantil, hasta el 4 de diciembre de {end.year}." in html
    for words in (
        "Léalo y firme",
        "En una frase",
        "Todas las partes",
        "<dt>Quién puede compartir</dt>",
        "<dt>Usos</dt><dd>Su caso de bienestar infantil (CPS)</dd>",
        f"<dt>Termina</dt><dd>4 de diciembre de {end.year}</dd>",
        "Usted puede cancelarlo",
        "Es bueno saber",
        "<h2>Firma</h2>",
        ">Firmar</button>",
        "Volver y cambiarlo",
        "Fecha de hoy",
        "Firme aquí con el dedo o con un lápiz",
        "Yo, la madre o el padre",
        "Escribir mi nombre",
    ):
        assert words in html, words
    for words in ("Read it and sign", "In one sentence", "Go back and change it", "Today's date"):
        assert words not in html, words
