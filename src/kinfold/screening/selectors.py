"""selectors.py — reading screenings through the door: one response or alert by id (``access_response``,
``access_alert``), the family page's section (each instrument's scores over time, open alerts), the viewer's own
open alerts, what she may give this family, the next steps a positive screen proposes (services from the
directory in "fits this family" mode), and the FHIR R4 Questionnaire / QuestionnaireResponse of a response.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest

from kinfold import clock
from kinfold.access.door import Access, access_record
from kinfold.access.gate import RecordGate
from kinfold.access.viewer import Viewer
from kinfold.access.vocabulary import Interaction, category_of_kind
from kinfold.audit.models import Action
from kinfold.audit.services import record_events
from kinfold.families.models import Family, PregnancyEpisode
from kinfold.families.sections import Notice, SectionContext
from kinfold.prepared import prepared_list
from kinfold.screening.instruments import Instrument, catalogue, get_instrument, offered_to
from kinfold.screening.models import SafetyAlert, ScreeningResponse, ScreeningStatus
from kinfold.screening.services import CRISIS_LINES, safety_protocol


def access_response(
    *, viewer: Viewer, family_id: int, response_id: int, interaction: str = Interaction.READ
) -> Access[ScreeningResponse]:
    return access_record(
        viewer,
        ScreeningResponse.objects.select_related("created_by_org", "created_by", "family__parent"),
        response_id,
        family_id=family_id,
        interaction=interaction,
    )


def access_alert(
    *, viewer: Viewer, family_id: int, alert_id: int, interaction: str = Interaction.READ
) -> Access[SafetyAlert]:
    return access_record(
        viewer,
        SafetyAlert.objects.select_related("response", "created_by_org", "resolved_by", "family__parent"),
        alert_id,
        family_id=family_id,
        interaction=interaction,
    )


def family_id_of_response(response_id: int) -> int:
    return ScreeningResponse.objects.filter(pk=response_id).values_list("family_id", flat=True).first() or 0


def family_id_of_alert(alert_id: int) -> int:
    return SafetyAlert.objects.filter(pk=alert_id).values_list("family_id", flat=True).first() or 0


# --- what a response shows ------------------------------------------------------------------------------------


@dataclass
class ScaleView:
    key: str
    title: str
    score: float | None
    band: str
    positive: bool
    prorated: bool
    unscored: str
    low: float
    high: float
    advice: str

    @property
    def score_words(self) -> str:
        if self.score is None:
            return "Not scored"
        return str(int(self.score)) if float(self.score).is_integer() else f"{self.score:g}"


@dataclass
class AnswerView:
    number: int
    text: str
    answer: str
    asked: bool
    critical: bool
    blank_critical: bool = False  # a question that raises an alert, left blank: ask her directly


def scale_views(instrument: Instrument, response: ScreeningResponse) -> list[ScaleView]:
    out = []
    for row in response.results.get("scales", []):
        try:
            scale = instrument.scale(row["key"])
        except KeyError:
            continue
        low, high = instrument.score_range(scale)
        band = next((b for b in scale.bands if row["band_min"] is not None and b.min == row["band_min"]), None)
        out.append(
            ScaleView(
                key=scale.key,
                title=scale.title.en,
                score=row["score"],
                band=row["band"] or "",
                positive=row["positive"],
                prorated=row["prorated"],
                unscored=row["unscored"],
                low=low,
                high=high,
                advice=band.advice.en if band is not None and band.advice is not None else "",
            )
        )
    return out


def answer_views(instrument: Instrument, response: ScreeningResponse) -> list[AnswerView]:
    """Each question in English (staff read them) with her answer, or "not asked" / "not answered"."""
    answers = response.answers
    critical = set(response.results.get("critical_items", []))
    blank_critical = set(response.results.get("critical_unanswered", []))
    out = []
    for number, item in enumerate(instrument.items, start=1):
        asked = instrument.is_asked(item, answers)
        given = answers.get(item.key)
        if not asked:
            words = "Not asked"
        elif given is None:
            words = "Not answered"
        elif item.type == "number":
            words = f"{given}{' ' + item.unit.en if item.unit else ''}"
        else:
            chosen = given if isinstance(given, list) else [given]
            labels = {o.value: o.label.en for o in instrument.options_of(item)}
            words = "; ".join(labels.get(v, str(v)) for v in chosen)
        out.append(AnswerView(number, item.text.en, words, asked, item.key in critical, item.key in blank_critical))
    return out


# --- the family page ------------------------------------------------------------------------------------------


@dataclass
class Series:
    instrument: str
    short_title: str
    measures: str
    scale_title: str
    low: float
    high: float
    threshold: float | None  # the lowest score of a positive band (drawn as a line)
    points: list[dict[str, Any]] = field(default_factory=list)  # date, score, band, positive, id

    @property
    def chart(self) -> dict[str, Any]:
        """A small SVG line chart (viewBox 0 0 300 100); its table beside it carries the same figures."""
        dated = [p for p in self.points if p["score"] is not None]
        if not dated:
            return {"path": "", "dots": [], "threshold_y": None}
        first = min(p["date"] for p in dated).toordinal()
        last = max(p["date"] for p in dated).toordinal()
        span_days = max(last - first, 1)
        span = max(self.high - self.low, 1)

        def xy(p: dict[str, Any]) -> tuple[float, float]:
            x = 10 + 280 * ((p["date"].toordinal() - first) / span_days if last > first else 0.5)
            y = 90 - 80 * ((p["score"] - self.low) / span)
            return round(x, 1), round(y, 1)

        dots = [(*xy(p), p["positive"]) for p in dated]
        path = "M" + " L".join(f"{x},{y}" for x, y, _ in dots)
        threshold_y = None if self.threshold is None else round(90 - 80 * ((self.threshold - self.low) / span), 1)
        return {"path": path, "dots": dots, "threshold_y": threshold_y}


def _responses(family_id: Any) -> QuerySet[ScreeningResponse]:
    return ScreeningResponse.objects.filter(family_id=family_id).select_related("created_by_org")[:200]


def _open_alerts(family_id: Any) -> QuerySet[SafetyAlert]:
    return SafetyAlert.objects.filter(family_id=family_id, resolved_at__isnull=True).select_related("response")


def family_screenings(context: SectionContext) -> dict[str, Any]:
    """Her screenings the viewer may read: open alerts first, then each instrument's scores over time."""
    gate = context.gate
    family_id = context.family.pk
    visible = gate.visible(prepared_list("screening.responses", _responses, family_id), family_id=family_id)
    alerts = gate.visible(prepared_list("screening.alerts", _open_alerts, family_id), family_id=family_id)
    pregnancies = context.pregnancies  # the page's, already through the gate
    series: dict[tuple[str, str], Series] = {}
    for response in sorted(visible, key=lambda r: r.completed_at or r.created_at):
        if response.status != ScreeningStatus.COMPLETED:
            continue
        instrument = catalogue().get(response.instrument)
        if instrument is None:
            continue
        for row in response.results.get("scales", []):
            try:
                scale = instrument.scale(row["key"])
            except KeyError:
                continue
            if not scale.chart:
                continue
            low, high = instrument.score_range(scale)
            positives = [b.min for b in scale.bands if b.positive]
            key = (instrument.key, scale.key)
            if key not in series:
                series[key] = Series(
                    instrument=instrument.key,
                    short_title=instrument.short_title,
                    measures=instrument.measures.en,
                    scale_title=scale.title.en,
                    low=low,
                    high=high,
                    threshold=min(positives) if positives else None,
                )
            assert response.completed_at is not None
            series[key].points.append(
                {
                    "date": clock.local_date(response.completed_at),
                    "score": row["score"],
                    "band": row["band"] or "Not scored",
                    "positive": row["positive"],
                    "id": response.pk,
                    "stage": _stage(pregnancies, clock.local_date(response.completed_at)),
                }
            )
    return {
        "alerts": alerts,
        "series": list(series.values()),
        "open": [r for r in visible if r.status == ScreeningStatus.IN_PROGRESS],
        "recent": [r for r in visible if r.status == ScreeningStatus.COMPLETED][:10],
        "may_screen": gate.opens_family(context.family.pk) and context.viewer.membership is not None,
    }


def _stage(pregnancies: list[PregnancyEpisode], on: date) -> str:
    """Pregnancy or postpartum stage on a date, as the chart's table shows it (from the pregnancies she may read)."""
    for pregnancy in pregnancies:
        ga = pregnancy.gestational_age_on(on)
        if ga is not None and (pregnancy.delivered_on is None or on < pregnancy.delivered_on):
            return f"{ga.weeks} weeks pregnant"
        day = pregnancy.postpartum_day_on(on)
        if day is not None and day <= 365:
            return f"Postpartum day {day}"
    return ""


def export_screenings(data: dict[str, Any], notice: Notice) -> dict[str, Any]:
    return {
        "screenings": [
            {
                "id": r.pk,
                "instrument": r.instrument,
                "version": r.instrument_version,
                "status": r.status,
                "completed_at": r.completed_at,
                "results": r.results,
                **notice(r),
            }
            for r in data["recent"]
        ]
    }


# --- starting one ---------------------------------------------------------------------------------------------


def instruments_for(*, viewer: Viewer, family: Family, gate: RecordGate) -> list[Instrument]:
    """The instruments the viewer's organisation may give her, and whose responses it may file (the door)."""
    assert viewer.membership is not None
    organization = viewer.membership.organization
    parent = family.parent
    age = parent.age_on(clock.today()) if parent is not None else None
    out = []
    for instrument in offered_to(organization.name, age=age.years if age is not None else None):
        kind = instrument.kind_for(organization.type)
        if gate.may_create(ScreeningResponse, family_id=family.pk, category=category_of_kind(kind), kind=kind):
            out.append(instrument)
    return out


# --- alerts ---------------------------------------------------------------------------------------------------


def my_open_alerts(*, viewer: Viewer) -> list[SafetyAlert]:
    """Open alerts she was told of, that she may still read (the door decides again now)."""
    if not viewer.may_see_family_data or viewer.user is None:
        return []
    rows = list(
        SafetyAlert.objects.filter(notified=viewer.user, resolved_at__isnull=True)
        .select_related("family__parent", "response")
        .order_by("raised_at")[:100]
    )
    if not rows:
        return []
    gate = RecordGate.open(viewer, sorted({a.family_id for a in rows}))
    shown = [a for a in rows if gate.show(a)]
    gate.record_disclosures(channel="page")
    record_events(
        actor=viewer.user,
        action=Action.VIEW,
        events=[
            {
                "record_type": "SafetyAlert",
                "record_id": alert.pk,
                "family_id": alert.family_id,
                "purpose": viewer.default_purpose,
            }
            for alert in shown
        ],
    )
    return shown


def open_alert_count(user: Any) -> int:
    """For the menu: how many open alerts she was told of (not decided again: the list page decides)."""
    return SafetyAlert.objects.filter(notified=user, resolved_at__isnull=True).count()


@dataclass
class AlertHelp:
    protocol: str
    crisis_lines: tuple[tuple[str, str], ...]
    message: str


def alert_help(alert: SafetyAlert) -> AlertHelp:
    instrument = catalogue().get(alert.response.instrument)
    message = instrument.critical_message.en if instrument and instrument.critical_message else ""
    return AlertHelp(protocol=safety_protocol(alert.created_by_org), crisis_lines=CRISIS_LINES, message=message)


# --- next steps -----------------------------------------------------------------------------------------------


@dataclass
class Proposal:
    need: str
    need_words: str
    services: list[Any]
    search_query: str  # the directory search that finds more
    note: str = ""


def proposals(request: HttpRequest, response: ScreeningResponse) -> list[Proposal]:
    """For each need a positive screen names: up to three services from the directory that fit her (her facts
    read through the door), nearest her home first, in her language where it matters; and the search for more."""
    from urllib.parse import urlencode

    from kinfold.directory import geo
    from kinfold.directory.models import Need
    from kinfold.directory.search import SearchFilters, search_services
    from kinfold.referrals.selectors import family_fit

    needs = response.results.get("needs", []) if response.status == ScreeningStatus.COMPLETED else []
    if not needs:
        return []
    fit = family_fit(request, response.family_id)
    near = geo.point_for(fit.postal_code) if fit.postal_code else None
    out = []
    for need in needs:
        language = fit.language if need in ("mental_health", "sud_treatment", "ipv_services") else ""
        perinatal: dict[str, Any] = {}
        if need in ("mental_health", "sud_treatment"):
            if fit.is_pregnant:
                perinatal = {"accepts_pregnant": True}
            elif fit.has_delivered:
                perinatal = {"postpartum_programme": True}
        if need == "housing":
            perinatal = {"parenting_programme": True}  # housing that takes her children with her
        note = ""
        found: list[Any] = []
        attempts: tuple[dict[str, Any], ...] = (perinatal, {})
        for attempt in attempts:
            filters = SearchFilters(need=need, language=language, **attempt)
            page = search_services(near=near, radius_miles=None, filters=filters, fit=fit, fits_only=True, per_page=3)
            found = page.results
            if found:
                if attempt != perinatal and perinatal:
                    note = (
                        "No service for this need lists a perinatal or family programme near her; "
                        "these fit her otherwise."
                    )
                break
        query = {"family": response.family_id, "need": need, "fits_only": "1"}
        if language:
            query["language"] = language
        out.append(
            Proposal(
                need=need,
                need_words=str(Need(need).label) if need in Need.values else need,
                services=found,
                search_query=urlencode(query),
                note=note,
            )
        )
    return out


# --- the pages' data -------------------------------------------------------------------------------------------


@dataclass
class ResponsePage:
    response: ScreeningResponse
    instrument: Instrument
    gate: RecordGate
    scales: list[ScaleView]
    answers: list[AnswerView]
    alert: SafetyAlert | None
    may_change: bool
    may_close_alert: bool


def response_page(*, viewer: Viewer, family_id: int, response_id: int) -> ResponsePage:
    found = access_response(viewer=viewer, family_id=family_id, response_id=response_id)
    response, gate = found.record, found.gate
    instrument = get_instrument(response.instrument)
    alert = SafetyAlert.objects.filter(response=response).select_related("resolved_by", "created_by_org").first()
    if alert is not None and not gate.show(alert):
        alert = None
    gate.record_disclosures(channel="page")
    return ResponsePage(
        response=response,
        instrument=instrument,
        gate=gate,
        scales=scale_views(instrument, response),
        answers=answer_views(instrument, response),
        alert=alert,
        may_change=gate.may(Interaction.CHANGE, response),
        may_close_alert=alert is not None and alert.is_open and gate.may(Interaction.CHANGE, alert),
    )


# --- FHIR ------------------------------------------------------------------------------------------------------


def questionnaire(key: str) -> str:
    """The instrument as FHIR R4 Questionnaire JSON (not family data: anyone signed in may read it)."""
    from kinfold.screening.fhir import build_questionnaire

    # The resource's id spells the key with hyphens (FHIR ids take no underscore): both find it.
    return build_questionnaire(get_instrument(key.replace("-", "_"))).model_dump_json(exclude_none=True)


def questionnaire_response(*, viewer: Viewer, response_id: int) -> str:
    """The response as FHIR R4 QuestionnaireResponse JSON, through the door (a 404 when she may not read it);
    the read is audited and accounted like any other."""
    from kinfold.screening.fhir import build_questionnaire_response

    found = access_response(viewer=viewer, family_id=family_id_of_response(response_id), response_id=response_id)
    response = found.record
    return build_questionnaire_response(response, get_instrument(response.instrument)).model_dump_json(
        exclude_none=True
    )
