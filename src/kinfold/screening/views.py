"""Screening pages. Staff: start one for a family, fill it in with her, see a response (scores, answers, the
safety alert with the organisation's protocol and crisis lines, proposed next steps), send or withdraw its link,
the list of her open safety alerts and closing one. The parent: the questionnaire on her phone from a one-time
link (``/s/<token>/``, no account), or on the tablet in parent mode. The three ways of answering share one
questionnaire flow (``_questionnaire``): one question per screen for long instruments, progress shown, answers
saved at every step (pause and resume), a review before sending. Thin: parse, call one selector or service.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.views.decorators.http import require_POST

from kinfold.access.door import require_page
from kinfold.access.http import viewer_for
from kinfold.families.selectors import access_family
from kinfold.families.services import ConcurrentEditError
from kinfold.onetime import hash_token
from kinfold.screening import selectors, services
from kinfold.screening.forms import CloseAlertForm, ProtocolForm, StartForm, posted_answers
from kinfold.screening.instruments import Instrument, Item, get_instrument
from kinfold.screening.models import HowGiven, ScreeningResponse
from kinfold.web.forms import apply_errors
from kinfold.web.qr import qr_svg

LINK_SESSION_KEY = "screening_link_shown"


def _int(value: str | None) -> int | None:
    try:
        number = int(value or "")
    except ValueError:
        return None
    return number if 0 < number < 2**62 else None


# --- staff: starting one -----------------------------------------------------------------------------------------


@login_required
def start(request: HttpRequest, family_id: int) -> HttpResponse:
    viewer = viewer_for(request)
    family, gate = access_family(viewer=viewer, family_id=family_id)
    if viewer.membership is None:
        raise PermissionDenied("Only staff give screenings.")
    instruments = selectors.instruments_for(viewer=viewer, family=family, gate=gate)
    parent = family.parent
    language = "es" if parent is not None and parent.preferred_language == "es" else "en"
    form = StartForm(
        request.POST if request.method == "POST" else None,
        instruments=instruments,
        initial={"language": language, "how_given": HowGiven.WITH_STAFF},
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            response = services.start_screening(
                viewer=viewer,
                family=family,
                instrument_key=data["instrument"],
                language=data["language"],
                how_given=data["how_given"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        except PermissionDenied as error:
            form.add_error(None, str(error))
        else:
            if response.how_given == HowGiven.LINK:
                token = services.send_link(viewer=viewer, response=response)
                request.session[LINK_SESSION_KEY] = {"id": response.pk, "token": token}
                return redirect("screening:detail", response_id=response.pk)
            if response.how_given == HowGiven.PARENT_MODE:
                from kinfold.parentmode.services import parent_mode_start

                try:
                    parent_mode_start(
                        viewer=viewer,
                        family_id=family.pk,
                        session=request.session,
                        language=response.language,
                        screening_id=response.pk,
                    )
                except ValidationError as error:
                    messages.error(request, " ".join(error.messages))
                    return redirect("screening:detail", response_id=response.pk)
                return redirect("parentmode:screening")
            return redirect("screening:fill", response_id=response.pk)
    if form.errors:
        status = 400
    return render(
        request,
        "screening/start.html",
        {"form": form, "family": family, "instruments": instruments, "title": "Give a screening"},
        status=status,
    )


# --- staff: one response ------------------------------------------------------------------------------------------


def _response(request: HttpRequest, response_id: int, **kwargs: Any) -> Any:
    viewer = viewer_for(request)
    family_id = selectors.family_id_of_response(response_id)
    return viewer, selectors.access_response(viewer=viewer, family_id=family_id, response_id=response_id, **kwargs)


@login_required
def detail(request: HttpRequest, response_id: int) -> HttpResponse:
    viewer = viewer_for(request)
    page = selectors.response_page(
        viewer=viewer, family_id=selectors.family_id_of_response(response_id), response_id=response_id
    )
    shown = request.session.pop(LINK_SESSION_KEY, None)
    link = None
    if isinstance(shown, dict) and shown.get("id") == page.response.pk and page.response.link_works:
        url = settings.KINFOLD_SITE_URL + services.link_path(shown["token"])
        link = {"url": url, "qr": _qr(url)}
    alert_form = None
    if page.may_close_alert and page.alert is not None:
        alert_form = CloseAlertForm(initial={"version": page.alert.version})
    return _render_detail(request, page, link=link, alert_form=alert_form)


def _render_detail(
    request: HttpRequest, page: Any, *, link: dict[str, str] | None, alert_form: Any, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "screening/detail.html",
        {
            "page": page,
            "response": page.response,
            "family": page.response.family,
            "instrument": page.instrument,
            "link": link,
            "alert_form": alert_form,
            "help": selectors.alert_help(page.alert) if page.alert is not None else None,
            "proposals": selectors.proposals(request, page.response) if page.response.positive else [],
        },
        status=status,
    )


def _qr(url: str) -> str:
    """The link as a QR code, base64 SVG for an ``<img>`` (drawn here: no image service sees the link)."""
    return base64.b64encode(qr_svg(url).encode("utf-8")).decode("ascii")


@require_POST
@login_required
def new_link(request: HttpRequest, response_id: int) -> HttpResponse:
    viewer, found = _response(request, response_id)
    try:
        token = services.send_link(viewer=viewer, response=found.record)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    except PermissionDenied as error:
        messages.error(request, str(error))
    else:
        request.session[LINK_SESSION_KEY] = {"id": response_id, "token": token}
        messages.success(request, "A new link was made. The earlier link no longer works.")
    return redirect("screening:detail", response_id=response_id)


@require_POST
@login_required
def withdraw(request: HttpRequest, response_id: int) -> HttpResponse:
    viewer, found = _response(request, response_id)
    try:
        services.withdraw(viewer=viewer, response=found.record, version=_int(request.POST.get("version")) or 0)
    except (ValidationError, ConcurrentEditError) as error:
        messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
    except PermissionDenied as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "The screening was withdrawn. Its link no longer works.")
    return redirect("screening:detail", response_id=response_id)


@login_required
def fill(request: HttpRequest, response_id: int) -> HttpResponse:
    """Staff fill it in with her (reading the questions together), in her language."""
    viewer, found = _response(request, response_id)
    response = found.record
    require_page(_may_change, viewer, found)
    if not response.is_open:
        return redirect("screening:detail", response_id=response.pk)
    instrument = get_instrument(response.instrument)

    def save(raw: dict[str, Any], clear: list[str], version: int | None) -> ScreeningResponse | None:
        return services.save_answers(
            viewer=viewer, response=response, raw=raw, clear=clear, version=version or response.version
        )

    def finish(version: int | None) -> ScreeningResponse | None:
        return services.complete(viewer=viewer, response=response, version=version or response.version)

    flow = Flow(
        instrument=instrument,
        response=response,
        lang=response.language,
        base_template="base.html",
        url=reverse("screening:fill", args=[response.pk]),
        save=save,
        finish=finish,
        done=lambda r: redirect("screening:detail", response_id=r.pk),
        context={"family": response.family, "staff": True},
        one_per_screen=False,
    )
    return _questionnaire(request, flow)


def _may_change(viewer: Any, found: Any) -> Any:
    from kinfold.access.door import require
    from kinfold.access.vocabulary import Interaction

    return require(viewer, Interaction.CHANGE, found.record, gate=found.gate)


# --- the questionnaire flow ---------------------------------------------------------------------------------------


@dataclass
class Flow:
    instrument: Instrument
    response: ScreeningResponse
    lang: str
    base_template: str
    url: str
    save: Callable[[dict[str, Any], list[str], int | None], ScreeningResponse | None]
    finish: Callable[[int | None], ScreeningResponse | None]
    done: Callable[[ScreeningResponse], HttpResponse]
    context: dict[str, Any] = field(default_factory=dict)
    one_per_screen: bool | None = None  # None: as the instrument says
    gone: Callable[[], HttpResponse] | None = None  # the link stopped working mid-way

    def at(self, query: str = "") -> str:
        """The flow's page with ``query`` added (the link's page keeps ``?lang=`` in its address)."""
        if not query:
            return self.url
        return self.url + ("&" if "?" in self.url else "?") + query


@dataclass
class Question:
    item: Item
    number: int
    text: str
    options: list[dict[str, Any]]
    answer: Any
    error: str = ""
    section: str = ""
    help: str = ""
    unit: str = ""


def _questions(flow: Flow, items: list[Item], errors: dict[str, str], posted: dict[str, Any]) -> list[Question]:
    instrument, lang = flow.instrument, flow.instrument.speaks(flow.lang)
    numbers = {item.key: n for n, item in enumerate(instrument.items, start=1)}
    out = []
    for item in items:
        answer = posted.get(item.key, flow.response.answers.get(item.key))
        chosen = {str(v) for v in (answer if isinstance(answer, list) else [answer])} if answer is not None else set()
        options = [
            {"value": o.value, "label": o.label.get(lang), "checked": str(o.value) in chosen, "exclusive": o.exclusive}
            for o in instrument.options_of(item)
        ]
        out.append(
            Question(
                item=item,
                number=numbers[item.key],
                text=item.text.get(lang),
                options=options,
                answer=answer,
                error=errors.get(item.key, ""),
                section=item.section.get(lang) if item.section else "",
                help=item.help.get(lang) if item.help else "",
                unit=item.unit.get(lang) if item.unit else "",
            )
        )
    return out


def _questionnaire(request: HttpRequest, flow: Flow) -> HttpResponse:
    instrument, response = flow.instrument, flow.response
    lang = instrument.speaks(flow.lang)
    one_per_screen = instrument.one_per_screen if flow.one_per_screen is None else flow.one_per_screen
    with translation.override(lang):
        asked = instrument.asked(response.answers)
        keys = [i.key for i in asked]
        errors: dict[str, str] = {}
        posted: dict[str, Any] = {}
        if request.method == "POST":
            go = request.POST.get("go", "next")
            shown_keys = [k for k in request.POST.getlist("shown") if k in keys]
            shown = [instrument.item(k) for k in shown_keys]
            posted = posted_answers(instrument, shown, request.POST)
            version = _int(request.POST.get("version"))
            if go == "submit":
                try:
                    finished = flow.finish(version)
                except ConcurrentEditError as error:
                    messages.error(request, str(error))
                    return redirect(flow.at("review=1"))
                except ValidationError as error:
                    messages.error(request, " ".join(error.messages))
                    return redirect(flow.at("review=1"))
                if finished is None:
                    return flow.gone() if flow.gone else redirect(flow.url)
                return flow.done(finished)
            try:
                saved = flow.save(posted, [], version) if posted else response
            except ValidationError as error:
                errors = {k: " ".join(v) for k, v in getattr(error, "message_dict", {}).items()}
                if not errors:
                    messages.error(request, " ".join(error.messages))
                saved = response
            except ConcurrentEditError as error:
                messages.error(request, str(error))
                return redirect(flow.url)
            if saved is None:
                return flow.gone() if flow.gone else redirect(flow.url)
            if not errors:
                flow.response = response = saved
                asked = instrument.asked(response.answers)
                keys = [i.key for i in asked]
                if go == "pause":
                    return redirect(flow.at("paused=1"))  # a page to reload safely
                if one_per_screen and shown_keys:
                    current = shown_keys[0]
                    position = keys.index(current) if current in keys else -1
                    if go == "back":
                        target = keys[position - 1] if position > 0 else keys[0]
                        return redirect(flow.at(f"q={target}"))
                    if 0 <= position < len(keys) - 1:
                        return redirect(flow.at(f"q={keys[position + 1]}"))
                    return redirect(flow.at("review=1"))
                new = [k for k in keys if k not in shown_keys and k not in response.answers]
                if new and go != "review":
                    messages.info(
                        request, translation.gettext("Your answers were saved. Please answer the new question below.")
                    )
                    return redirect(flow.url)
                return redirect(flow.at("review=1"))
            # invalid: show the same question(s) again with what she chose and why it was not taken
            items = shown or asked
        else:
            items = asked
            wanted = request.GET.get("q", "")
            if request.GET.get("review"):
                return _review(request, flow, lang)
            if request.GET.get("paused"):
                return render(
                    request,
                    "screening/paused.html",
                    {**flow.context, "flow": flow, "base_template": flow.base_template, "lang": lang},
                )
            if one_per_screen:
                if wanted in keys:
                    items = [instrument.item(wanted)]
                else:
                    unanswered = [i for i in asked if i.key not in response.answers]
                    if not unanswered and response.answers:
                        return _review(request, flow, lang)
                    items = [(unanswered or asked)[0]]
        questions = _questions(flow, items, errors, posted)
        at: int | None = keys.index(items[0].key) + 1 if one_per_screen and items and items[0].key in keys else None
        preamble = instrument.preamble.get(lang) if instrument.preamble else ""
        return render(
            request,
            "screening/questionnaire.html",
            {
                **flow.context,
                "flow": flow,
                "base_template": flow.base_template,
                "lang": lang,
                "instrument": instrument,
                "title": instrument.title.get(lang),
                "preamble": preamble,
                "questions": questions,
                "one_per_screen": one_per_screen,
                "position": at,
                "total": len(keys),
                "answered": sum(1 for k in keys if k in response.answers),
                "first": at == 1,
                "errors": errors,
            },
            status=400 if errors else 200,
        )


def _review(request: HttpRequest, flow: Flow, lang: str) -> HttpResponse:
    instrument, response = flow.instrument, flow.response
    asked = instrument.asked(response.answers)
    questions = _questions(flow, asked, {}, {})
    rows = []
    for q in questions:
        if q.answer is None:
            words = ""
        elif q.item.type == "number":
            words = f"{q.answer}{' ' + q.unit if q.unit else ''}"
        else:
            words = "; ".join(o["label"] for o in q.options if o["checked"])
        rows.append({"q": q, "words": words})
    missing = sum(1 for r in rows if not r["words"])
    return render(
        request,
        "screening/review.html",
        {
            **flow.context,
            "flow": flow,
            "base_template": flow.base_template,
            "lang": lang,
            "instrument": instrument,
            "title": instrument.title.get(lang),
            "rows": rows,
            "missing": missing,
        },
    )


# --- the parent: a one-time link on her phone -------------------------------------------------------------------


def _link_gone(request: HttpRequest) -> HttpResponse:
    """One page for every link that does not work, in both languages (a bare link says nothing of hers)."""
    return render(request, "screening/link_gone.html", {"lang": "en"}, status=404)


def _sender_shown(organization: Any) -> str:
    """The name her phone's pages show for who asked: not a Part 2 programme's (anyone holding her phone would
    learn she is in treatment there); "" then, and the pages say "your care team"."""
    return "" if organization.is_part2_program else organization.name


DONE_SESSION_KEY = "screening_link_done"


def link(request: HttpRequest, token: str) -> HttpResponse:
    """Her questionnaire from a one-time link: no account, nothing personal on the page but the questions."""
    response = services.open_link(token)
    requested = request.GET.get("lang") or request.POST.get("lang") or ""
    if response is None:
        sent = request.session.get(DONE_SESSION_KEY)
        if request.GET.get("done") and isinstance(sent, dict) and sent.get("link") == hash_token(token):
            lang = requested if requested in ("en", "es") else "en"
            with translation.override(lang):
                return render(request, "screening/thanks.html", {"lang": lang, **sent["shown"]})
        return _link_gone(request)
    if request.method == "GET":
        services.link_opened(response)
    instrument = get_instrument(response.instrument)
    lang = instrument.speaks(requested if requested in ("en", "es") else response.language)
    path = services.link_path(token)
    sender = _sender_shown(response.created_by_org)

    def save(raw: dict[str, Any], clear: list[str], version: int | None) -> ScreeningResponse | None:
        return services.save_from_link(token=token, raw=raw, clear=clear)

    def finish(version: int | None) -> ScreeningResponse | None:
        return services.complete_from_link(token=token)

    def done(finished: ScreeningResponse) -> HttpResponse:
        # Her thanks is a page she may reload (the link itself no longer works): kept in her browser's session.
        request.session[DONE_SESSION_KEY] = {
            "link": hash_token(token),
            "shown": {"organization": sender, "crisis": _has_critical(instrument)},
        }
        return redirect(f"{path}?lang={lang}&done=1")

    flow = Flow(
        instrument=instrument,
        response=response,
        lang=lang,
        base_template="screening/link_base.html",
        url=f"{path}?lang={lang}",
        save=save,
        finish=finish,
        done=done,
        context={"lang_switch": path, "organization": sender},
        gone=lambda: _link_gone(request),
    )
    return _questionnaire(request, flow)


def _has_critical(instrument: Instrument) -> bool:
    return any(item.critical for item in instrument.items) or any(
        band.critical for scale in instrument.scales for band in scale.bands
    )


# --- the parent: on the tablet in parent mode -----------------------------------------------------------------


def parent_mode_screening(request: HttpRequest) -> HttpResponse:
    """The questionnaire on the tablet, in parent mode: the staff member handed it to her; she gives it back."""
    from kinfold.parentmode.services import parent_mode_of, parent_mode_screening_done
    from kinfold.parentmode.views import layout

    if not request.user.is_authenticated:
        return redirect("login")
    mode = parent_mode_of(request.session)
    if mode is None or mode.staff_user_id != request.user.pk or mode.screening_id is None:
        return redirect("parentmode:home")
    viewer = viewer_for(request)
    found = selectors.access_response(viewer=viewer, family_id=mode.family_id, response_id=mode.screening_id)
    response = found.record
    instrument = get_instrument(response.instrument)
    if not response.is_open:
        parent_mode_screening_done(session=request.session)
        return redirect("parentmode:home")

    def save(raw: dict[str, Any], clear: list[str], version: int | None) -> ScreeningResponse | None:
        return services.save_answers(viewer=viewer, response=response, raw=raw, clear=clear, version=response.version)

    def finish(version: int | None) -> ScreeningResponse | None:
        return services.complete(viewer=viewer, response=response, version=response.version)

    def done(finished: ScreeningResponse) -> HttpResponse:
        parent_mode_screening_done(session=request.session)
        with translation.override(mode.language):
            return render(
                request,
                "screening/parent_mode_thanks.html",
                {**layout(mode, "screening"), "crisis": _has_critical(instrument)},
            )

    with translation.override(mode.language):
        flow = Flow(
            instrument=instrument,
            response=response,
            lang=mode.language,
            base_template="parentmode/base.html",
            url=reverse("parentmode:screening"),
            save=save,
            finish=finish,
            done=done,
            context=layout(mode, "screening"),
        )
        return _questionnaire(request, flow)


# --- safety alerts -----------------------------------------------------------------------------------------------


@login_required
def alerts(request: HttpRequest) -> HttpResponse:
    viewer = viewer_for(request)
    return render(request, "screening/alerts.html", {"alerts": selectors.my_open_alerts(viewer=viewer)})


@login_required
def alert(request: HttpRequest, alert_id: int) -> HttpResponse:
    """The address an alert's email carries: the response's page, at its alert."""
    viewer = viewer_for(request)
    found = selectors.access_alert(viewer=viewer, family_id=selectors.family_id_of_alert(alert_id), alert_id=alert_id)
    return redirect(reverse("screening:detail", args=[found.record.response_id]) + "#alert-heading")


@require_POST
@login_required
def close_alert(request: HttpRequest, alert_id: int) -> HttpResponse:
    viewer = viewer_for(request)
    found = selectors.access_alert(viewer=viewer, family_id=selectors.family_id_of_alert(alert_id), alert_id=alert_id)
    form = CloseAlertForm(request.POST)
    response_id = found.record.response_id
    if form.is_valid():
        try:
            services.resolve_alert(
                viewer=viewer,
                alert=found.record,
                action=form.cleaned_data["action"],
                note=form.cleaned_data["note"],
                version=form.cleaned_data["version"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        except ConcurrentEditError as error:
            form.add_error(None, str(error))
        except PermissionDenied as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, "The alert is closed. What was done is on her record.")
            return redirect("screening:detail", response_id=response_id)
    page = selectors.response_page(viewer=viewer, family_id=found.record.family_id, response_id=response_id)
    return _render_detail(request, page, link=None, alert_form=form, status=400)


@login_required
def protocol(request: HttpRequest) -> HttpResponse:
    """Her organisation's safety protocol: every member reads it; its lead writes it."""
    viewer = viewer_for(request)
    membership = viewer.membership
    if membership is None:
        raise PermissionDenied("Only staff have a safety protocol.")
    from kinfold.staff.services import is_lead

    may_edit = is_lead(membership)
    organization = membership.organization
    form = ProtocolForm(
        request.POST if request.method == "POST" else None, initial={"protocol": organization.safety_protocol}
    )
    if request.method == "POST":
        if not may_edit:
            raise PermissionDenied("Only a lead of your organisation writes its safety protocol.")
        if form.is_valid():
            try:
                services.set_safety_protocol(viewer=viewer, text=form.cleaned_data["protocol"])
            except ValidationError as error:
                apply_errors(form, error)
            else:
                messages.success(request, "The safety protocol is saved. Every new and open alert shows it.")
                return redirect("screening:protocol")
    return render(
        request,
        "screening/protocol.html",
        {
            "form": form,
            "may_edit": may_edit,
            "organization": organization,
            "current": services.safety_protocol(organization),
            "own": bool(organization.safety_protocol.strip()),
            "crisis_lines": services.CRISIS_LINES,
        },
        status=400 if form.errors else 200,
    )
