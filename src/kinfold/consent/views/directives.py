"""Consent pages, under /families/<id>/consents/: the family's consents, the template library, capture
with the parent on a tablet (terms, then read and sign; English or Spanish), a consent's versions, a new
version (signed again, never an edit) and revocation (confirmed, never retroactive).

Thin: every read goes through the door (``families.selectors.open_family``, ``consent.selectors``), every
write through ``consent.services``, and each page is audited. A viewer who may not open the family, or may
not see a consent (rule C: the parties it names and whoever recorded it), gets the same 404 as for a family
or consent that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from types import SimpleNamespace
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import translation
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_lazy as _

from kinfold import clock
from kinfold.access.gate import RecordGate
from kinfold.access.http import viewer_for
from kinfold.access.viewer import Viewer
from kinfold.access.vocabulary import Interaction, Purpose, kind_table, version_kinds
from kinfold.audit.models import Action
from kinfold.audit.services import record_event
from kinfold.consent import services
from kinfold.consent.forms import (
    OPTIONAL_FIELDS,
    SIGNATURE_FIELDS,
    TERM_FIELDS,
    ConsentForm,
    RevokeForm,
    errors_summary,
    initial_from_version,
    language_of,
    purpose_label,
)
from kinfold.consent.library import ConsentTemplate, library
from kinfold.consent.models import ConsentDirective, ConsentVersion, SignatureMethod, superseding_version
from kinfold.consent.selectors import ConsentRow, access_directive, consent_rows, family_consents, status_words
from kinfold.consent.summaries import class_words, long_date, version_summary
from kinfold.families.models import CareTeamMember, Family, Language
from kinfold.families.selectors import legal_representatives, open_family, visible_team
from kinfold.organizations.models import Membership, Organization
from kinfold.parentmode.services import parent_mode_of, parent_mode_signature_done, parent_mode_start
from kinfold.web.forms import apply_errors

# --- reading through the door ------------------------------------------------------------------


@dataclass
class ConsentPage:
    """What one consent page may show: the family, the gate that decided, and her team as the viewer sees it."""

    viewer: Viewer
    family: Family
    gate: RecordGate
    team: list[CareTeamMember]

    @property
    def organizations(self) -> list[Organization]:
        return sorted({m.membership.organization_id: m.membership.organization for m in self.team}.values(), key=str)

    @property
    def people(self) -> list[Membership]:
        return [m.membership for m in self.team]

    def audit(self, action: str, record_type: str, record_id: object = "", **detail: Any) -> None:
        record_event(
            actor=self.viewer.user,
            action=action,
            record_type=record_type,
            record_id=record_id,
            family_id=self.family.pk,
            purpose=self.gate.purpose,
            detail=detail or None,
        )

    def finish(self) -> None:
        """Account for what the page disclosed to someone outside the organisations that wrote it."""
        self.gate.record_disclosures(channel="page")


def _open(request: HttpRequest, family_id: int) -> ConsentPage:
    """The page's family (404, audited, when she may not open it) and her team as the viewer sees it."""
    viewer = viewer_for(request)
    family, gate = open_family(viewer=viewer, family_id=family_id)
    return ConsentPage(viewer=viewer, family=family, gate=gate, team=visible_team(gate=gate, family_id=family.pk))


def _directive(page: ConsentPage, directive_id: int, interaction: str = Interaction.READ) -> ConsentDirective:
    """The consent, if the viewer may see it (and do ``interaction``): else 404, audited."""
    return access_directive(
        viewer=page.viewer, family_id=page.family.pk, directive_id=directive_id, interaction=interaction, gate=page.gate
    ).record


# --- words for staff pages ---------------------------------------------------------------------


def _versions(directive: ConsentDirective) -> list[ConsentVersion]:
    """Newest first (``family_consents`` prefetches them in that order)."""
    return list(directive.versions.all())


def _day(at: datetime) -> str:
    return long_date(clock.local_date(at), "en")


def _names(orgs: Any, classes: list[str], people: Any = (), language: str = "en") -> list[str]:
    return [p.display_name for p in people] + [o.name for o in orgs] + [class_words(c, language) for c in classes]


def _ends(version: Any, language: str = "en") -> str:
    if version.expires_at is not None:
        return long_date(clock.local_date(version.expires_at), language)
    with translation.override(language):
        if version.expiry_event:
            return gettext("Ends when %(event)s") % {"event": version.expiry_event}
        return pgettext("no part", "None")


@dataclass
class VersionView:
    version: ConsentVersion
    summary: str
    summary_en: str
    period: str
    disclosers: list[str]
    recipients: list[str]
    purposes: list[str]
    kinds: list[str]


def _kind_names(kinds: list[str], language: str = "en") -> list[str]:
    """Each kind a version lists, in the words she read (the kinds table's order)."""
    listed = set(kinds)
    return [_capital(k.words.in_(language)) for k in kind_table().kinds if k.key in listed]


def _capital(words: str) -> str:
    return words[:1].upper() + words[1:]


def _version_view(
    version: ConsentVersion, following: ConsentVersion | None, directive: ConsentDirective
) -> VersionView:
    ends = version.ends_at(
        next_effective_at=following.effective_at if following else None, revoked_at=directive.revoked_at
    )
    period = f"From {_day(version.effective_at)}"
    if following is not None and ends == following.effective_at:
        period += f" until version {following.number} replaced it on {_day(following.effective_at)}"
    elif ends is not None and ends == directive.revoked_at:
        period += f" until she revoked the consent on {_day(ends)}"
    elif ends is not None and ends <= clock.now():
        period += f" until {_day(ends)}"
    elif version.expires_at is not None:
        period += f" until the end of {_day(version.expires_at)}"
    else:
        period += f" until {version.expiry_event}"
    return VersionView(
        version=version,
        summary=version_summary(version),
        summary_en=version_summary(version, language="en"),
        period=period,
        disclosers=_names(version.discloser_orgs.all(), version.discloser_classes),
        recipients=_names(version.recipient_orgs.all(), version.recipient_classes, version.recipient_people.all()),
        purposes=[str(Purpose(p).label) for p in version.purposes if p in Purpose.values],
        kinds=_kind_names(version_kinds(version.kinds, version.categories)),
    )


def _rows(page: ConsentPage) -> list[ConsentRow]:
    return consent_rows(gate=page.gate, directives=family_consents(gate=page.gate, family_id=page.family.pk))


# --- the family's consents (the family page's section, and a page of its own) ---------------------


@login_required
def consent_list(request: HttpRequest, family_id: int) -> HttpResponse:
    page = _open(request, family_id)
    rows = _rows(page)
    partial = bool(request.headers.get("HX-Request"))
    # Who may hold the tablet in parent mode: she, or one of her recorded legal representatives.
    readers = [] if partial else legal_representatives(gate=page.gate, family_id=page.family.pk)
    page.audit(Action.LIST, "ConsentDirective", directive_ids=[r.directive.pk for r in rows])
    page.finish()
    template = "consent/_consent_list.html" if partial else "consent/consent_list.html"
    return render(
        request,
        template,
        {
            "family": page.family,
            "rows": rows,
            "readers": readers,
            "shows_redisclosure_notice": page.gate.any_notice,
        },
    )


# --- capture with the parent --------------------------------------------------------------------


def _preview_version(form: ConsentForm, terms: services.ConsentTerms) -> ConsentVersion:
    """An unsaved version's terms, shaped as ``version_summary`` reads them."""

    class _All(list[Any]):
        def all(self) -> list[Any]:
            return list(self)

    return cast(
        ConsentVersion,
        SimpleNamespace(
            discloser_orgs=_All(terms.discloser_orgs),
            discloser_classes=sorted(terms.discloser_classes),
            recipient_orgs=_All(terms.recipient_orgs),
            recipient_people=_All(terms.recipient_people),
            recipient_classes=sorted(terms.recipient_classes),
            purposes=sorted(terms.purposes),
            purpose_description=terms.purpose_description.strip(),
            categories=services.covered_categories(terms),
            kinds=services.covered_kinds(terms),
            expires_at=terms.expires_at,
            expiry_event=terms.expiry_event.strip(),
            language=form.lang,
        ),
    )


# The parts of a consent she reads before signing, in order.
PART_LABELS = (_("Who may share"), _("Who may get it"), _("Uses"), _("Kinds of information"), _("Ends"))


def _parts(form: ConsentForm, terms: services.ConsentTerms) -> list[tuple[str, str]]:
    lang = form.lang
    with translation.override(lang):
        labels = [str(label) for label in PART_LABELS]
    uses = [purpose_label(p, lang) for p in terms.purposes]
    if terms.purpose_description.strip():
        uses.append(f"“{terms.purpose_description.strip()}”")
    kinds = _kind_names(services.covered_kinds(terms), lang)
    if terms.information_description.strip():
        kinds.append(f"“{terms.information_description.strip()}”")
    preview = _preview_version(form, terms)
    return [
        (labels[0], "; ".join(_names(terms.discloser_orgs, terms.discloser_classes, language=lang))),
        (
            labels[1],
            "; ".join(_names(terms.recipient_orgs, terms.recipient_classes, terms.recipient_people, language=lang)),
        ),
        (labels[2], "; ".join(uses)),
        (labels[3], "; ".join(kinds)),
        (labels[4], _ends(preview, lang)),
    ]


def _placeholder_signature(terms: services.ConsentTerms) -> services.ConsentTerms:
    return replace(terms, signer_name="-", signature_method=SignatureMethod.TYPED, signature_typed="-")


def _errors_of(error: ValidationError) -> dict[str, list[str]]:
    return dict(error.message_dict) if hasattr(error, "error_dict") else {"__all__": list(error.messages)}


def _form_kwargs(
    page: ConsentPage, directive: ConsentDirective | None, lang: str
) -> tuple[dict[str, Any], ConsentVersion | None]:
    """The capture form's choices (her team as the viewer sees it, her legal representatives), and the latest
    version a new version starts from."""
    latest = _versions(directive)[0] if directive is not None else None
    organizations = page.organizations
    if latest is not None:  # a new version may keep naming an organisation that has left her team
        organizations += [o for o in [*latest.discloser_orgs.all(), *latest.recipient_orgs.all()]]
    people = page.people + (list(latest.recipient_people.all()) if latest is not None else [])
    kwargs: dict[str, Any] = {
        "language": lang,
        "organizations": organizations,
        "people": people,
        "legal_representatives": legal_representatives(gate=page.gate, family_id=page.family.pk),
    }
    return kwargs, latest


def _save(
    page: ConsentPage,
    form: ConsentForm,
    terms: services.ConsentTerms,
    *,
    template: ConsentTemplate | None,
    directive: ConsentDirective | None,
) -> ConsentDirective:
    """Record the signed consent (or its new version) with the staff member as the one who records it."""
    if directive is None:
        title = form.cleaned_data.get("title") or (template.title.en if template else "Consent")
        return services.consent_record(viewer=page.viewer, family=page.family, terms=terms, title=title)
    return services.consent_new_version(viewer=page.viewer, directive=directive, terms=terms).directive


def _sign_context(form: ConsentForm, lang: str) -> dict[str, Any]:
    """Step 2: the sentence she reads, every part, her right to take it back, and the signature."""
    terms = form.terms()
    return {
        "summary": version_summary(_preview_version(form, terms), language=lang),
        "parts": _parts(form, terms),
        "right_to_revoke": services.right_to_revoke_text(lang),
        "signature_fields": [form[name] for name in SIGNATURE_FIELDS],
    }


def _words_context(form: ConsentForm, lang: str) -> dict[str, Any]:
    """What the capture templates need besides their own words (``{% translate %}``, rendered under the
    consent's language)."""
    return {
        "form": form,
        "lang": lang,
        "optional_fields": OPTIONAL_FIELDS,
        "today": long_date(clock.today(), lang),
        "error_text": errors_summary(len(form.errors), lang),
    }


def _signed_message(lang: str) -> str:
    with translation.override(lang):
        return gettext("The consent is signed and recorded. It is in force from now.")


def _capture(
    request: HttpRequest,
    page: ConsentPage,
    *,
    template: ConsentTemplate | None = None,
    directive: ConsentDirective | None = None,
) -> HttpResponse:
    """Step 1: the terms. Step 2: the summary, the right to revoke, and the signature. Then save.

    Step 2 is read and signed either here, on the staff member's page, or by her on the tablet in parent mode
    ("tablet"): the terms wait in the session and she signs in parent mode's layout (``consent_tablet_sign``)."""
    lang = language_of(request.POST.get("language") if request.method == "POST" else request.GET.get("lang"))
    kwargs, latest = _form_kwargs(page, directive, lang)
    step = "terms"
    if request.method != "POST":
        if latest is not None:
            initial = initial_from_version(latest, lang)
        elif template is not None:
            initial = template.initial(team_orgs=page.organizations, language=lang, today=clock.today())
        else:
            initial = {"language": lang, "ends": "date", "title": ""}
        form = ConsentForm(initial=initial, **kwargs)
        page.audit(Action.VIEW, "ConsentDirective", directive.pk if directive else "", page="consent_capture")
    else:
        form = ConsentForm(request.POST, **kwargs)
        action = request.POST.get("action", "preview")
        if form.is_valid():
            terms = form.terms()
            if action in ("preview", "tablet"):
                try:
                    services.validate_terms(_placeholder_signature(terms), now=clock.now())
                except ValidationError as error:
                    form.add_service_errors(error)
                else:
                    step = "sign"
                    if action == "tablet":
                        page.finish()
                        return _hand_over(request, page, lang=lang, template=template, directive=directive)
            elif action == "sign":
                try:
                    saved = _save(page, form, terms, template=template, directive=directive)
                except ValidationError as error:
                    form.add_service_errors(error)
                    step = "terms" if form.has_term_errors() else "sign"
                else:
                    page.finish()
                    messages.success(request, _signed_message(lang))
                    return redirect("consent:detail", family_id=page.family.pk, directive_id=saved.pk)
        else:
            step = "terms" if form.has_term_errors() else "sign"
    context: dict[str, Any] = {
        **_words_context(form, lang),
        "family": page.family,
        "step": step,
        "LANGUAGE_CODE": lang,
        "template_def": template,
        "template_promise": template.promise(lang) if template is not None else "",
        "directive": directive,
        "latest": latest,
        "missing_on_team": template is not None and latest is None and template.missing_on_team(page.organizations),
        "term_fields": [form[name] for name in TERM_FIELDS],
    }
    if step == "sign":
        context |= _sign_context(form, lang)
    page.finish()
    with translation.override(lang):
        return render(request, "consent/capture.html", context, status=400 if form.errors else 200)


# --- read and sign on the tablet, in parent mode -------------------------------------------------------------


def _hand_over(
    request: HttpRequest,
    page: ConsentPage,
    *,
    lang: str,
    template: ConsentTemplate | None,
    directive: ConsentDirective | None,
) -> HttpResponse:
    """Hand her the tablet to read and sign: the terms the staff member filled in wait in the session, and
    parent mode starts, in the consent's language, on the signing step."""
    terms = {name: request.POST.getlist(name) for name in TERM_FIELDS}
    try:
        parent_mode_start(
            viewer=page.viewer,
            family_id=page.family.pk,
            session=request.session,
            language=lang,
            capture={
                "terms": terms,
                "directive_id": directive.pk if directive is not None else None,
                "template_key": template.key if template is not None else "",
            },
        )
    except ValidationError as refused:
        messages.error(request, " ".join(refused.messages))
        return redirect("families:detail", family_id=page.family.pk)
    return redirect("parentmode:sign")


@login_required
def consent_tablet_sign(request: HttpRequest) -> HttpResponse:
    """Step 2 in parent mode: she reads the summary and every part, and signs (or chooses not to). The consent
    is recorded exactly as on the staff member's page (``services.consent_record`` with the staff member who
    handed her the tablet as the one recording it), and she lands on her consents, in parent mode."""
    mode = parent_mode_of(request.session)
    if mode is None or mode.capture is None or mode.staff_user_id != request.user.pk:
        return redirect("parentmode:home")
    capture = mode.capture
    page = _open(request, mode.family_id)
    directive = _directive(page, int(capture["directive_id"])) if capture.get("directive_id") else None
    key = str(capture.get("template_key") or "")
    template = library().get(key) if key else None
    lang = language_of(mode.language)
    action = request.POST.get("action", "sign") if request.method == "POST" else ""
    if action == "decline":
        page.finish()
        parent_mode_signature_done(session=request.session)
        with translation.override(lang):
            messages.info(request, gettext("Nothing was signed. You can ask about it any time."))
        return redirect("parentmode:home")
    # The terms are the ones the staff member filled in (kept in the session), never anything posted here.
    data = MultiValueDict({name: list(values) for name, values in capture.get("terms", {}).items()})
    if request.method == "POST":
        for name in SIGNATURE_FIELDS:
            data.setlist(name, request.POST.getlist(name))
    kwargs, latest = _form_kwargs(page, directive, lang)
    with translation.override(lang):
        form = ConsentForm(data, **kwargs)
        valid = form.is_valid() and not form.has_term_errors()
        if valid and action == "sign":
            try:
                saved = _save(page, form, form.terms(), template=template, directive=directive)
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                page.finish()
                parent_mode_signature_done(session=request.session)
                messages.success(request, _signed_message(lang))
                return redirect(f"{reverse('parentmode:home')}?signed={saved.pk}")
        context: dict[str, Any] = {
            **_words_context(form, lang),
            "family": page.family,
            "directive": directive,
            "latest": latest,
            "tablet": True,
            "current": "sign",
            "awaits_signature": True,
            "her_name": page.family.parent.display_name if page.family.parent else "",
            "cannot_sign": not valid,
        }
        if valid:
            context |= _sign_context(form, lang)
        page.finish()
        return render(request, "parentmode/sign.html", context, status=400 if form.errors else 200)


@login_required
def consent_new(request: HttpRequest, family_id: int) -> HttpResponse:
    page = _open(request, family_id)
    key = request.GET.get("template", "")
    if not key and request.method != "POST":
        lib = library()
        page.audit(Action.VIEW, "Family", page.family.pk, page="consent_library")
        page.finish()
        return render(
            request,
            "consent/library.html",
            {
                "family": page.family,
                "templates": [
                    (t, t.missing_on_team(page.organizations), t.promise("en"), t.promise("es")) for t in lib.templates
                ],
            },
        )
    template = library().get(key) if key and key != "blank" else None
    if key and key != "blank" and template is None:
        raise Http404("No such consent template.")
    return _capture(request, page, template=template)


@login_required
def consent_new_version(request: HttpRequest, family_id: int, directive_id: int) -> HttpResponse:
    page = _open(request, family_id)
    directive = _directive(page, directive_id)
    if directive.revoked_at is not None:
        messages.info(request, "This consent was revoked. A consent given after a revocation is a new consent.")
        return redirect("consent:detail", family_id=page.family.pk, directive_id=directive.pk)
    return _capture(request, page, directive=directive)


# --- one consent, every version -------------------------------------------------------------------


@login_required
def consent_detail(request: HttpRequest, family_id: int, directive_id: int) -> HttpResponse:
    page = _open(request, family_id)
    directive = _directive(page, directive_id)
    versions = _versions(directive)
    # Newest first: the versions before index i in the list were signed after version i.
    views = [_version_view(v, superseding_version(versions[:i]), directive) for i, v in enumerate(versions)]
    page.audit(Action.VIEW, "ConsentDirective", directive.pk, versions=len(versions))
    page.finish()
    return render(
        request,
        "consent/detail.html",
        {
            "family": page.family,
            "directive": directive,
            "versions": views,
            "status": status_words(
                page.gate.directive_status(family_id=page.family.pk, directive_id=directive.pk), versions[0]
            ),
            "languages": dict(Language.choices),
            "signature_drawn": SignatureMethod.DRAWN,
            "shows_redisclosure_notice": page.gate.any_notice,
        },
    )


# --- revocation ----------------------------------------------------------------------------------


@login_required
def consent_revoke(request: HttpRequest, family_id: int, directive_id: int) -> HttpResponse:
    page = _open(request, family_id)
    directive = _directive(page, directive_id, Interaction.RETIRE)
    latest = _versions(directive)[0]
    if directive.revoked_at is not None:
        messages.info(request, f"This consent was already revoked on {_day(directive.revoked_at)}.")
        return redirect("consent:detail", family_id=page.family.pk, directive_id=directive.pk)
    staff = page.people
    step = "form"
    if request.method != "POST":
        form = RevokeForm(initial={"received_by": page.viewer.membership_id}, staff=staff)
        page.audit(Action.VIEW, "ConsentDirective", directive.pk, page="consent_revoke")
    else:
        form = RevokeForm(request.POST, staff=staff)
        action = request.POST.get("action", "confirm")
        if form.is_valid() and action == "confirm":
            step = "confirm"
        elif form.is_valid() and action == "revoke":
            try:
                services.consent_revoke(
                    viewer=page.viewer,
                    directive=directive,
                    method=form.cleaned_data["method"],
                    received_by=form.cleaned_data["received_by"],
                    note=form.cleaned_data["note"],
                )
            except ValidationError as error:
                apply_errors(form, error)
            else:
                page.finish()
                messages.success(
                    request,
                    f"Recorded: she took back “{directive}”. It takes effect now: from this moment nobody can see "
                    "anything more under it. It is not retroactive: what was shared before stays shared, and stays "
                    "in her accounting of disclosures.",
                )
                return redirect("consent:detail", family_id=page.family.pk, directive_id=directive.pk)
    page.finish()
    return render(
        request,
        "consent/revoke.html",
        {
            "family": page.family,
            "directive": directive,
            "summary": version_summary(latest, language="en"),
            "form": form,
            "step": step,
        },
        status=400 if form.errors else 200,
    )


@login_required
def consent_ended(request: HttpRequest, family_id: int, directive_id: int) -> HttpResponse:
    """The event a consent names as its end (e.g. "when my court case closes") has happened: the consent
    ends now, for future access only. The detail page asks for a tick to confirm first."""
    if request.method != "POST":
        return redirect("consent:detail", family_id=family_id, directive_id=directive_id)
    page = _open(request, family_id)
    directive = _directive(page, directive_id)
    latest = _versions(directive)[0]
    if request.POST.get("confirm") != "on":
        page.finish()
        messages.error(request, f"Tick the box to confirm that “{latest.expiry_event}” has happened.")
        return redirect("consent:detail", family_id=page.family.pk, directive_id=directive.pk)
    try:
        services.consent_expiry_event_record(viewer=page.viewer, version=latest)
    except ValidationError as error:
        messages.error(request, " ".join(m for errs in _errors_of(error).values() for m in errs))
    else:
        messages.success(
            request,
            f"Recorded that “{latest.expiry_event}” happened. The consent has ended: from now on nobody can see "
            "anything more under it. What was shared before stays shared.",
        )
    page.finish()
    return redirect("consent:detail", family_id=page.family.pk, directive_id=directive.pk)


urlpatterns = [
    path("consents/", consent_list, name="list"),
    path("consents/new/", consent_new, name="new"),
    path("consents/<int:directive_id>/", consent_detail, name="detail"),
    path("consents/<int:directive_id>/new-version/", consent_new_version, name="new_version"),
    path("consents/<int:directive_id>/revoke/", consent_revoke, name="revoke"),
    path("consents/<int:directive_id>/ended/", consent_ended, name="ended"),
]
