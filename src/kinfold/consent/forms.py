"""The consent pages' forms and their words, in English and Spanish, in plain language (about grade 6).

The capture form collects every element of 42 CFR 2.31 (see ``services.ConsentTerms``); the rules
themselves (a court consent stands alone and names the court, the end is in the future, a signature is
given) are checked by ``services.validate_terms``, whose messages ``translate_error`` puts into Spanish.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.utils.html import format_html
from django.utils.safestring import SafeString

from kinfold.access.vocabulary import OrganizationClass, Purpose, kind_table, kinds_in, version_kinds
from kinfold.consent.models import ConsentDirective, SignatureMethod, SignerKind
from kinfold.consent.services.directives import ConsentTerms
from kinfold.consent.summaries import CLASS_WORDS
from kinfold.families.models import Person, Sensitivity
from kinfold.organizations.models import Membership, Organization
from kinfold.web.forms import DateInput, UswdsFormMixin

LANGUAGES = ("en", "es")

# Every word the capture and signing pages show, in both languages.
WORDS: dict[str, dict[str, str]] = {
    "en": {
        "page_title": "Your consent",
        "h1": "Your consent: who may share your information",
        "intro": (
            "You decide who sees your information. Read each part and ask us about anything. "
            "You can change your mind later."
        ),
        "starting_from": "We started from",
        "starting_note": "You can change any part before you sign.",
        "blank": "A new consent",
        "switch_language": "Ver en español",
        "q_share": "1. Who may share your information?",
        "q_receive": "2. Who may get your information?",
        "q_purpose": "3. What may they use it for?",
        "q_info": "4. What kind of information?",
        "q_end": "5. When does this consent end?",
        "next": "Next: read it and sign",
        "cancel": "Cancel",
        "missing_on_team": (
            "This kind of consent names places on her care team, and one of them is not on the team yet. "
            "Add its staff to the care team first, or choose other places below."
        ),
        "sign_h1": "Read it and sign",
        "sign_intro": "This is what you are agreeing to:",
        "summary_label": "In one sentence",
        "details": "All the parts",
        "revoke_h": "You can take it back",
        "more_h": "Good to know",
        "no_need_to_sign": ("You do not have to sign. Saying no will not stop your treatment or your care from us."),
        "protected": (
            "Substance use treatment records have extra protection under a federal law (42 CFR Part 2). "
            "Anyone who gets them is told they may not share them again unless the law allows it."
        ),
        "signature_h": "Sign",
        "today": "Today's date",
        "draw_label": "Sign here with your finger or a pen",
        "draw_clear": "Clear",
        "draw_hint": "If drawing is hard, choose “Type my name” instead.",
        "sign": "Sign",
        "back": "Go back and change it",
        "errors_one": "Please fix 1 thing below.",
        "errors_many": "Please fix {n} things below.",
        "none": "None",
        "ends_on": "Ends on",
        "ends_when": "Ends when",
        "signed_ok": "The consent is signed and recorded. It is in force from now.",
        "optional": "optional",
    },
    "es": {
        "page_title": "Su permiso",
        "h1": "Su permiso: quién puede compartir su información",
        "intro": (
            "Usted decide quién ve su información. Lea cada parte y pregúntenos lo que quiera. "
            "Puede cambiar de opinión después."
        ),
        "starting_from": "Empezamos con",
        "starting_note": "Puede cambiar cualquier parte antes de firmar.",
        "blank": "Un permiso nuevo",
        "switch_language": "Show in English",
        "q_share": "1. ¿Quién puede compartir su información?",
        "q_receive": "2. ¿Quién puede recibir su información?",
        "q_purpose": "3. ¿Para qué la pueden usar?",
        "q_info": "4. ¿Qué tipo de información?",
        "q_end": "5. ¿Cuándo termina este permiso?",
        "next": "Siguiente: leer y firmar",
        "cancel": "Cancelar",
        "missing_on_team": (
            "Este tipo de permiso nombra lugares de su equipo de atención, y uno de ellos todavía no está en "
            "el equipo. Primero agregue a su personal al equipo, o elija otros lugares abajo."
        ),
        "sign_h1": "Léalo y firme",
        "sign_intro": "Esto es lo que usted acepta:",
        "summary_label": "En una frase",
        "details": "Todas las partes",
        "revoke_h": "Usted puede cancelarlo",
        "more_h": "Es bueno saber",
        "no_need_to_sign": ("No tiene que firmar. Si dice que no, no vamos a detener su tratamiento ni su atención."),
        "protected": (
            "Los registros de tratamiento por uso de sustancias tienen protección extra por una ley federal "
            "(42 CFR Parte 2). A quien los recibe se le dice que no los puede compartir otra vez, a menos "
            "que la ley lo permita."
        ),
        "signature_h": "Firma",
        "today": "Fecha de hoy",
        "draw_label": "Firme aquí con el dedo o con un lápiz",
        "draw_clear": "Borrar",
        "draw_hint": "Si es difícil dibujar, elija “Escribir mi nombre”.",
        "sign": "Firmar",
        "back": "Volver y cambiarlo",
        "errors_one": "Por favor corrija 1 cosa abajo.",
        "errors_many": "Por favor corrija {n} cosas abajo.",
        "none": "Ninguno",
        "ends_on": "Termina el",
        "ends_when": "Termina cuando",
        "signed_ok": "El permiso está firmado y guardado. Vale desde ahora.",
        "optional": "opcional",
    },
}

FIELD_WORDS: dict[str, dict[str, tuple[str, str]]] = {
    # field: (label, help text)
    "en": {
        "discloser_orgs": ("Places on your care team that may share", "Check each one that may share."),
        "discloser_classes": (
            "Or a group of places that may share",
            "A group includes places that join later.",
        ),
        "recipient_orgs": ("Places on your care team that may get it", "Check each one that may get it."),
        "recipient_people": ("Or only certain people on your team", ""),
        "recipient_classes": (
            "Or a group of places that may get it",
            "A group includes places that join later.",
        ),
        "purposes": (
            "Uses",
            "A court case needs its own consent. Do not check it together with other uses.",
        ),
        "purpose_description": ("The use in your own words", "For example: reports to the court."),
        "categories": (
            "Kinds of information",
            "Only the kinds you check may be shared. Check “All of it” to share every kind a group has today.",
        ),
        "kinds": ("Kinds of information", ""),
        "information_description": ("More about what may be shared", ""),
        "ends": ("It ends", ""),
        "expires_on": ("End date", "It ends at the end of this day."),
        "expiry_event": ("What has to happen", "For example: your court case closes."),
        "signer_kind": ("Who is signing?", ""),
        "signer_name": ("Full name of the person signing", ""),
        "signer_person": (
            "Which legal representative is signing",
            "Only if her legal representative signs for her. Only someone recorded on her family page as her "
            "legal representative can sign for her.",
        ),
        "signature_method": ("How do you want to sign?", ""),
        "signature_typed": ("Type your full name to sign", "Typing your name here counts as your signature."),
        "guardian_name": (
            "Guardian's name",
            "Only if the parent is under 18 and the law asks her guardian to sign too.",
        ),
        "guardian_signature_typed": ("Guardian signs: type the guardian's name", ""),
    },
    "es": {
        "discloser_orgs": ("Lugares de su equipo que pueden compartir", "Marque cada uno que puede compartir."),
        "discloser_classes": (
            "O un grupo de lugares que pueden compartir",
            "Un grupo incluye lugares que se unan después.",
        ),
        "recipient_orgs": ("Lugares de su equipo que pueden recibirla", "Marque cada uno que puede recibirla."),
        "recipient_people": ("O solo ciertas personas de su equipo", ""),
        "recipient_classes": (
            "O un grupo de lugares que pueden recibirla",
            "Un grupo incluye lugares que se unan después.",
        ),
        "purposes": (
            "Usos",
            "Un caso en la corte necesita su propio permiso. No lo marque junto con otros usos.",
        ),
        "purpose_description": (
            "El uso en sus propias palabras",
            "Por ejemplo: informes a la corte.",
        ),
        "categories": (
            "Tipos de información",
            "Solo se pueden compartir los tipos que usted marque. Marque “Todo” para compartir cada tipo que un "
            "grupo tiene hoy.",
        ),
        "kinds": ("Tipos de información", ""),
        "information_description": ("Más sobre lo que se puede compartir", ""),
        "ends": ("Termina", ""),
        "expires_on": ("Fecha de fin", "Termina al final de este día."),
        "expiry_event": ("Qué tiene que pasar", "Por ejemplo: que se cierre su caso en la corte."),
        "signer_kind": ("¿Quién firma?", ""),
        "signer_name": ("Nombre completo de quien firma", ""),
        "signer_person": (
            "Qué representante legal firma",
            "Solo si su representante legal firma por ella. Solo puede firmar por ella quien esté anotado como su "
            "representante legal en la página de su familia.",
        ),
        "signature_method": ("¿Cómo quiere firmar?", ""),
        "signature_typed": (
            "Escriba su nombre completo para firmar",
            "Escribir su nombre aquí cuenta como su firma.",
        ),
        "guardian_name": (
            "Nombre del tutor",
            "Solo si la madre o el padre tiene menos de 18 años y la ley pide que su tutor también firme.",
        ),
        "guardian_signature_typed": ("Firma del tutor: escriba el nombre del tutor", ""),
    },
}

PURPOSE_CHOICES: dict[str, dict[str, str]] = {
    "en": {
        Purpose.TREATMENT: "Your treatment and care",
        Purpose.PAYMENT: "Paying for your care",
        Purpose.OPERATIONS: "Running their services (like checking quality)",
        Purpose.CARE_COORDINATION: "Working together on your care",
        Purpose.CHILD_WELFARE_CASE: "Your child welfare (CPS) case",
        Purpose.COURT_PROCEEDING: "Your court case",
        Purpose.RESEARCH: "Research",
    },
    "es": {
        Purpose.TREATMENT: "Su tratamiento y atención",
        Purpose.PAYMENT: "Pagar su atención",
        Purpose.OPERATIONS: "Administrar sus servicios (como revisar la calidad)",
        Purpose.CARE_COORDINATION: "Trabajar juntos en su atención",
        Purpose.CHILD_WELFARE_CASE: "Su caso de bienestar infantil (CPS)",
        Purpose.COURT_PROCEEDING: "Su caso en la corte",
        Purpose.RESEARCH: "Investigación",
    },
}

# Each kind of information (Sensitivity), named and explained in plain words.
CATEGORY_CHOICES: dict[str, dict[str, tuple[str, str]]] = {
    "en": {
        Sensitivity.SUD_TREATMENT: (
            "Substance use treatment",
            "Like coming to treatment, medication and test results. A federal law (42 CFR Part 2) "
            "gives this extra protection.",
        ),
        Sensitivity.MENTAL_HEALTH: ("Mental health", "Like therapy notes."),
        Sensitivity.GENERAL_HEALTH: ("General health", "Like prenatal visits and check-ups."),
        Sensitivity.CHILD_WELFARE: ("Child welfare case", "Notes from the child welfare (CPS) case."),
        Sensitivity.LEGAL: ("Court and legal matters", "Like court dates."),
        Sensitivity.SOCIAL_NEEDS: ("Everyday needs", "Like housing, food, rides and child care."),
        Sensitivity.CONTACT: ("Name and contact details", "Your name, phone number and address."),
    },
    "es": {
        Sensitivity.SUD_TREATMENT: (
            "Tratamiento por uso de sustancias",
            "Como ir al tratamiento, medicamentos y resultados de pruebas. Una ley federal "
            "(42 CFR Parte 2) le da protección extra.",
        ),
        Sensitivity.MENTAL_HEALTH: ("Salud mental", "Como notas de terapia."),
        Sensitivity.GENERAL_HEALTH: ("Salud general", "Como visitas prenatales y chequeos."),
        Sensitivity.CHILD_WELFARE: ("Caso de bienestar infantil", "Notas del caso de bienestar infantil (CPS)."),
        Sensitivity.LEGAL: ("Corte y asuntos legales", "Como fechas de corte."),
        Sensitivity.SOCIAL_NEEDS: ("Necesidades diarias", "Como vivienda, comida, transporte y cuidado de niños."),
        Sensitivity.CONTACT: ("Nombre y datos de contacto", "Su nombre, teléfono y dirección."),
    },
}

CHOICE_WORDS: dict[str, dict[str, list[tuple[str, str]]]] = {
    "en": {
        "ends": [("date", "On a date"), ("event", "When something happens")],
        "signer_kind": [
            (SignerKind.PARENT, "Me, the parent"),
            (SignerKind.LEGAL_REPRESENTATIVE, "The parent's legal representative"),
        ],
        "signature_method": [(SignatureMethod.TYPED, "Type my name"), (SignatureMethod.DRAWN, "Draw my signature")],
    },
    "es": {
        "ends": [("date", "En una fecha"), ("event", "Cuando pase algo")],
        "signer_kind": [
            (SignerKind.PARENT, "Yo, la madre o el padre"),
            (SignerKind.LEGAL_REPRESENTATIVE, "Un representante legal de la madre o el padre"),
        ],
        "signature_method": [
            (SignatureMethod.TYPED, "Escribir mi nombre"),
            (SignatureMethod.DRAWN, "Dibujar mi firma"),
        ],
    },
}

# The messages of services.validate_terms (and this form's own), in Spanish.
ERRORS_ES = {
    "Choose who may share her information.": "Elija quién puede compartir su información.",
    "Choose who may receive her information.": "Elija quién puede recibir su información.",
    "Choose what the information may be used for.": "Elija para qué se puede usar la información.",
    "One of the purposes is not known.": "Uno de los usos no es válido.",
    "Emergencies need no consent; choose another purpose.": ("Las emergencias no necesitan permiso; elija otro uso."),
    "A consent for a court case must stand alone (42 CFR 2.31(d)). Record the court use as its own consent.": (
        "Un permiso para un caso en la corte debe ir solo (42 CFR 2.31(d)). Haga un permiso aparte para la corte."
    ),
    "A consent for a court case must name the court.": "Un permiso para un caso en la corte debe nombrar la corte.",
    "Choose what kind of information may be shared.": "Elija qué tipo de información se puede compartir.",
    "SUD counselling notes are shared only under a consent of their own (42 CFR 2.31(b)). Record them as a "
    "separate consent that lists nothing else.": (
        "Las notas de consejería por uso de sustancias se comparten solo con un permiso aparte (42 CFR 2.31(b)). "
        "Haga un permiso aparte que no incluya nada más."
    ),
    "Enter the full name of the person signing, as her family's record has it.": (
        "Escriba el nombre completo de quien firma, como aparece en el registro de su familia."
    ),
    "A typed signature is the full name of the person signing, as her family's record has it.": (
        "Una firma escrita es el nombre completo de quien firma, como aparece en el registro de su familia."
    ),
    "She is under 18 and may consent on her own here, so she signs herself: her guardian's signature alone "
    "covers nothing.": (
        "Ella es menor de 18 años y aquí puede dar su permiso sola, así que firma ella misma: la firma de su "
        "tutor sola no vale."
    ),
    "The drawn signature is too large to keep. Clear the box and sign again, or type the name instead.": (
        "La firma dibujada es demasiado grande. Borre el cuadro y firme otra vez, o escriba el nombre."
    ),
    "The drawn signature could not be read. Clear the box and sign again, or type the name instead.": (
        "No se pudo leer la firma dibujada. Borre el cuadro y firme otra vez, o escriba el nombre."
    ),
    "One of the kinds of information is not known.": "Uno de los tipos de información no es válido.",
    "One of the groups of organisations is not known.": "Uno de los grupos no es válido.",
    "Choose when the consent ends: a date, or an event such as “when my case closes”.": (
        "Elija cuándo termina el permiso: una fecha, o algo que pase, como “cuando se cierre mi caso”."
    ),
    "The end date must be in the future.": "La fecha de fin tiene que ser en el futuro.",
    "Enter the name of the person signing.": "Escriba el nombre de quien firma.",
    "Type the name as a signature, or switch to a drawn signature.": (
        "Escriba el nombre como firma, o elija dibujar la firma."
    ),
    "Draw the signature in the box, or switch to a typed signature.": (
        "Dibuje la firma en el cuadro, o elija escribir su nombre."
    ),
    "Choose the language the consent was presented in.": "Elija el idioma en que se presentó el permiso.",
    "A consent cannot take effect before it is signed.": "Un permiso no puede valer antes de firmarse.",
    "A parent under 18 signs with her guardian here: add the guardian's signature.": (
        "Una madre o un padre menor de 18 años firma con su tutor: agregue la firma del tutor."
    ),
    "Record the parent before a consent.": "Primero registre a la madre o el padre.",
    "Choose who is signing.": "Elija quién firma.",
    "No legal representative is recorded for her. Only she can sign, unless her legal representative is added to "
    "her family first.": (
        "No hay un representante legal anotado para ella. Solo ella puede firmar, a menos que primero se agregue a "
        "su representante legal a su familia."
    ),
    "Choose which of her recorded legal representatives is signing.": (
        "Elija cuál de sus representantes legales anotados firma."
    ),
    "Enter a real date.": "Escriba una fecha válida.",
    "Choose from the list.": "Elija de la lista.",
    "This consent was revoked. A consent given after a revocation is a new consent.": (
        "Este permiso fue cancelado. Un permiso dado después de cancelar es un permiso nuevo."
    ),
}

# Which capture-form field shows each error key of services.validate_terms.
SERVICE_FIELD = {
    "discloser_orgs": "discloser_orgs",
    "recipient_orgs": "recipient_orgs",
    "recipient_classes": "recipient_classes",
    "purposes": "purposes",
    "categories": "categories",
    "expires_at": "expires_on",
    "signer_name": "signer_name",
    "signer_kind": "signer_kind",
    "signer_person": "signer_person",
    "signature_typed": "signature_typed",
    "signature_drawn": "signature_method",
    "guardian_signature_typed": "guardian_signature_typed",
}
TERM_FIELDS = (
    "kinds",
    "template_key",
    "title",
    "language",
    "discloser_orgs",
    "discloser_classes",
    "recipient_orgs",
    "recipient_people",
    "recipient_classes",
    "purposes",
    "purpose_description",
    "categories",
    "information_description",
    "ends",
    "expires_on",
    "expiry_event",
)
OPTIONAL_FIELDS = ("purpose_description", "information_description", "guardian_name", "guardian_signature_typed")
SIGNATURE_FIELDS = (
    "signer_kind",
    "signer_name",
    "signer_person",
    "signature_method",
    "signature_typed",
    "signature_drawn",
    "guardian_name",
    "guardian_signature_typed",
)


def language_of(value: str | None) -> str:
    return "es" if value == "es" else "en"


def translate_error(message: str, language: str) -> str:
    return ERRORS_ES.get(message, message) if language == "es" else message


def end_of_day(day: date) -> datetime:
    """A consent that ends "on 1 June 2027" covers that whole local day."""
    return datetime.combine(day, time(23, 59), tzinfo=ZoneInfo(str(settings.TIME_ZONE)))


# The "all of it" choice of each category (CONSENT-RULES: it lists every kind the category has at signing).
WHOLE_CATEGORY = {
    "en": ("All of it", "Every kind below, as it is today (not counselling notes)."),
    "es": ("Todo", "Cada tipo de abajo, como está hoy (no las notas de consejería)."),
}
OWN_CONSENT = {
    "en": " Only in a consent of its own.",
    "es": " Solo en un permiso aparte.",
}


def _capital(words: str) -> str:
    return words[:1].upper() + words[1:]


def _option(label: str, description: str) -> SafeString:
    return format_html('{}<span class="usa-checkbox__label-description">{}</span>', label, description)


def _class_label(value: str, language: str) -> str:
    words = CLASS_WORDS[language].get(value, value)
    return words[:1].upper() + words[1:]


def _org_label(o: Organization) -> str:
    return o.name


def _representative_label(p: Person) -> str:
    return p.display_name


def _person_label(m: Membership) -> str:
    return f"{m.display_name} — {m.get_role_display()}, {m.organization.name}"


class ConsentForm(UswdsFormMixin, forms.Form):
    """Every 2.31 element of one version. Rules live in ``services.validate_terms``; fields stay optional
    here so that one place explains, in plain words, what is missing."""

    template_key = forms.CharField(required=False, max_length=40, widget=forms.HiddenInput)
    title = forms.CharField(required=False, max_length=200, widget=forms.HiddenInput)
    language = forms.ChoiceField(choices=[("en", "English"), ("es", "Español")], widget=forms.HiddenInput)
    discloser_orgs = forms.ModelMultipleChoiceField(
        queryset=Organization.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )
    discloser_classes = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)
    recipient_orgs = forms.ModelMultipleChoiceField(
        queryset=Organization.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )
    recipient_people = forms.ModelMultipleChoiceField(
        queryset=Membership.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )
    recipient_classes = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)
    purposes = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)
    purpose_description = forms.CharField(required=False, max_length=300)
    categories = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)
    kinds = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)
    information_description = forms.CharField(required=False, max_length=300)
    ends = forms.ChoiceField(widget=forms.RadioSelect, initial="date")
    expires_on = forms.DateField(required=False, widget=DateInput())
    expiry_event = forms.CharField(required=False, max_length=200)
    signer_kind = forms.ChoiceField(required=False, widget=forms.RadioSelect, initial=SignerKind.PARENT)
    signer_name = forms.CharField(required=False, max_length=220)
    signer_person = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    signature_method = forms.ChoiceField(required=False, widget=forms.RadioSelect, initial=SignatureMethod.TYPED)
    signature_typed = forms.CharField(required=False, max_length=220)
    signature_drawn = forms.CharField(required=False, max_length=500_000, widget=forms.HiddenInput)
    guardian_name = forms.CharField(required=False, max_length=220)
    guardian_signature_typed = forms.CharField(required=False, max_length=220)

    def __init__(
        self,
        *args: Any,
        language: str,
        organizations: Iterable[Organization],
        people: Iterable[Membership],
        legal_representatives: Iterable[Person] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if self.is_bound and not (self.data.get("signature_method") and self.data.get("signer_kind")):
            # Coming from the terms step: she has not chosen yet, so the signing step starts from a typed
            # signature by the parent herself (the usual case), as an unbound form would.
            data = self.data.copy()  # type: ignore[attr-defined]
            for key in ("signature_method", "signer_kind"):
                if not data.get(key):
                    data[key] = self.fields[key].initial
            self.data = data
        self.lang = lang = language_of(language)
        orgs = list(organizations)
        people = list(people)
        org_ids = [o.pk for o in orgs]
        for name in ("discloser_orgs", "recipient_orgs"):
            field = self.fields[name]
            assert isinstance(field, forms.ModelMultipleChoiceField)
            field.queryset = Organization.objects.filter(pk__in=org_ids).order_by("name")
            field.label_from_instance = _org_label  # type: ignore[method-assign,assignment]
        people_field = self.fields["recipient_people"]
        assert isinstance(people_field, forms.ModelMultipleChoiceField)
        people_field.queryset = Membership.objects.filter(pk__in=[m.pk for m in people]).select_related(
            "user", "organization"
        )
        people_field.label_from_instance = _person_label  # type: ignore[method-assign,assignment]
        # Her recorded legal representatives whom the staff member may see (the door chose them).
        self.legal_representatives = {p.pk: p for p in legal_representatives}
        self._set_choices(
            "signer_person",
            [("", "-")] + [(str(p.pk), _representative_label(p)) for p in self.legal_representatives.values()],
        )
        class_choices = [(c.value, _class_label(c.value, lang)) for c in OrganizationClass]
        self._set_choices("discloser_classes", class_choices)
        self._set_choices("recipient_classes", class_choices)
        self._set_choices("purposes", list(PURPOSE_CHOICES[lang].items()))
        all_of_it = WHOLE_CATEGORY[lang]
        self._set_choices(
            "categories", [(value, _option(all_of_it[0], all_of_it[1])) for value in CATEGORY_CHOICES[lang]]
        )
        own = OWN_CONSENT[lang]
        self._set_choices(
            "kinds",
            [
                (k.key, _option(_capital(k.words.in_(lang)), f"{k.example.in_(lang)}{own if k.own_consent else ''}"))
                for k in kind_table().kinds
            ],
        )
        for name, choices in CHOICE_WORDS[lang].items():
            self._set_choices(name, choices)
        for name, (label, help_text) in FIELD_WORDS[lang].items():
            self.fields[name].label = label
            self.fields[name].help_text = help_text
        invalid_choice = translate_error("Choose from the list.", lang)
        for field in self.fields.values():
            field.error_messages.update(
                {
                    "invalid_choice": invalid_choice,
                    "invalid_pk_value": invalid_choice,
                    "invalid_list": invalid_choice,
                    "invalid": translate_error("Enter a real date.", lang),
                    "required": translate_error("Choose from the list.", lang),
                }
            )
            widget = field.widget
            if isinstance(widget, forms.CheckboxSelectMultiple):
                widget.attrs["class"] = "usa-checkbox__input usa-checkbox__input--tile"
            elif isinstance(widget, forms.RadioSelect):
                widget.attrs["class"] = "usa-radio__input usa-radio__input--tile"
        self.fields["signature_typed"].widget.attrs["autocomplete"] = "off"
        self.fields["signer_name"].widget.attrs["autocomplete"] = "off"

    def kind_groups(self) -> list[dict[str, Any]]:
        """The kinds of information, one group per category: its name, the "all of it" choice, its kinds."""
        whole = {w.data["value"]: w for w in self["categories"]}
        kinds = {w.data["value"]: w for w in self["kinds"]}
        groups = []
        for category, (label, _help) in CATEGORY_CHOICES[self.lang].items():
            members = [kinds[k.key] for k in kinds_in(category) if k.key in kinds]
            groups.append({"category": category, "label": label, "whole": whole.get(category), "kinds": members})
        return groups

    def _set_choices(self, name: str, choices: list[tuple[str, Any]]) -> None:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices

    def terms_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in TERM_FIELDS]

    def terms(self) -> ConsentTerms:
        """The cleaned form as the service's terms (call after ``is_valid``)."""
        d = self.cleaned_data
        signer = self.legal_representatives.get(d["signer_person"]) if d.get("signer_person") else None
        ends_by_date = d.get("ends") != "event"
        expires_on = d.get("expires_on")
        return ConsentTerms(
            discloser_orgs=list(d.get("discloser_orgs") or []),
            discloser_classes=list(d.get("discloser_classes") or []),
            recipient_orgs=list(d.get("recipient_orgs") or []),
            recipient_people=list(d.get("recipient_people") or []),
            recipient_classes=list(d.get("recipient_classes") or []),
            purposes=list(d.get("purposes") or []),
            purpose_description=d.get("purpose_description", ""),
            categories=list(d.get("categories") or []),
            kinds=list(d.get("kinds") or []),
            information_description=d.get("information_description", ""),
            expires_at=end_of_day(expires_on) if ends_by_date and expires_on else None,
            expiry_event="" if ends_by_date else d.get("expiry_event", ""),
            signer_kind=d.get("signer_kind") or SignerKind.PARENT,
            # Her legal representative's name is filled in from the family when it is left empty.
            signer_name=d.get("signer_name", "")
            or (signer.display_name if d.get("signer_kind") == SignerKind.LEGAL_REPRESENTATIVE and signer else ""),
            signer_person=signer,
            signature_method=d.get("signature_method") or SignatureMethod.TYPED,
            signature_typed=d.get("signature_typed", ""),
            signature_drawn=d.get("signature_drawn", ""),
            guardian_name=d.get("guardian_name", ""),
            guardian_signature_typed=d.get("guardian_signature_typed", ""),
            language=self.lang,
            template_key=d.get("template_key", ""),
        )

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        """Put each of the service's messages next to its field, in the form's language."""
        for key, messages in errors.items():
            target = SERVICE_FIELD.get(key)
            if key == "expires_at" and self.cleaned_data.get("ends") == "event":
                target = "expiry_event"
            for message in messages:
                text = translate_error(message, self.lang)
                if target and target in self.fields and text not in self.errors.get(target, []):
                    self.add_error(target, text)
                elif not target:
                    self.add_error(None, text)

    def has_term_errors(self) -> bool:
        return any(name in self.errors for name in TERM_FIELDS) or bool(self.non_field_errors())


def initial_from_version(version: Any, language: str) -> dict[str, Any]:
    """A new version starts from the latest one's terms; she signs again."""
    expires_on = version.expires_at.astimezone(ZoneInfo(str(settings.TIME_ZONE))).date() if version.expires_at else None
    return {
        "template_key": version.template_key,
        "title": version.directive.title,
        "language": language,
        "discloser_orgs": [o.pk for o in version.discloser_orgs.all()],
        "discloser_classes": list(version.discloser_classes),
        "recipient_orgs": [o.pk for o in version.recipient_orgs.all()],
        "recipient_people": [m.pk for m in version.recipient_people.all()],
        "recipient_classes": list(version.recipient_classes),
        "purposes": list(version.purposes),
        "purpose_description": version.purpose_description,
        "kinds": version_kinds(version.kinds, version.categories),
        "information_description": version.information_description,
        "ends": "event" if version.expiry_event else "date",
        "expires_on": expires_on,
        "expiry_event": version.expiry_event,
        "signer_kind": version.signer_kind,
        "signer_name": version.signer_name,
        "signer_person": version.signer_person_id,
    }


class RevokeForm(UswdsFormMixin, forms.Form):
    """How she took her consent back (42 CFR 2.31(a)(6)): in writing, or spoken to a named staff member."""

    method = forms.ChoiceField(
        label="How did she take it back?",
        choices=ConsentDirective._meta.get_field("revocation_method").choices,  # type: ignore[arg-type]
        widget=forms.RadioSelect,
        error_messages={"required": "Say how she took it back: in writing, or by telling a staff member."},
    )
    received_by = forms.ModelChoiceField(
        label="Who received it",
        queryset=Membership.objects.none(),
        help_text="The staff member she told, or who received her signed letter.",
        error_messages={
            "required": "Choose the staff member who received it.",
            "invalid_choice": "Choose a staff member from the list.",
        },
    )
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For example: she called on Monday and asked to stop the updates to CPS.",
    )

    def __init__(self, *args: Any, staff: Iterable[Membership], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        received_by = self.fields["received_by"]
        assert isinstance(received_by, forms.ModelChoiceField)
        received_by.queryset = Membership.objects.filter(pk__in=[m.pk for m in staff]).select_related(
            "user", "organization"
        )
        received_by.label_from_instance = _person_label  # type: ignore[method-assign,assignment]
        received_by.empty_label = "- Select -"
        self.fields["method"].widget.attrs["class"] = "usa-radio__input"
