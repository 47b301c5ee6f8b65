"""fhir.py — an instrument as a FHIR R4 ``Questionnaire`` and a response as a ``QuestionnaireResponse``, built and
validated with ``fhir.resources`` (its R4B models: Questionnaire and QuestionnaireResponse are the same in R4 and
R4B, and the JSON carries nothing R4 lacks). The first piece of Kinfold's FHIR interface: the API serves them at
``/api/fhir/Questionnaire/<key>`` and ``/api/fhir/QuestionnaireResponse/<id>`` (the latter through the door).

Codes: LOINC where the file gives one (items, answers, the panel and each scale's score); otherwise Kinfold's own
code system, ``urn:kinfold:screening:<instrument>``. Skip logic becomes ``enableWhen``; the scores are answers to
read-only items (``readOnly``) after the questions, as the LOINC panels for these instruments carry them.
"""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from kinfold.screening.instruments import Instrument, Item
from kinfold.screening.models import ScreeningResponse, ScreeningStatus

LOINC = "http://loinc.org"
CANONICAL = "urn:kinfold:questionnaire"


def _own_system(instrument: Instrument) -> str:
    return f"urn:kinfold:screening:{instrument.key}"


def questionnaire_url(instrument: Instrument) -> str:
    return f"{CANONICAL}:{instrument.key}|{instrument.version}"


def _answer_coding(instrument: Instrument, value: int, label: str, loinc: str | None) -> dict[str, Any]:
    if loinc:
        return {"system": LOINC, "code": loinc, "display": label}
    return {"system": _own_system(instrument), "code": str(value), "display": label}


def _enable_when(instrument: Instrument, item: Item) -> tuple[list[dict[str, Any]], str | None]:
    conditions: list[dict[str, Any]] = []
    for cond in (*item.show_if, *item.show_if_any):
        source = instrument.item(cond.item)
        if source.type == "number":
            conditions.append({"question": cond.item, "operator": ">=", "answerInteger": cond.at_least or 0})
            continue
        labels = {o.value: o for o in instrument.options_of(source)}
        values = cond.in_ if cond.in_ is not None else tuple(v for v in labels if v >= (cond.at_least or 0))
        for value in values:
            option = labels[value]
            conditions.append(
                {
                    "question": cond.item,
                    "operator": "=",
                    "answerCoding": _answer_coding(instrument, value, option.label.en, option.loinc),
                }
            )
    if not conditions:
        return [], None
    # show_if: all must hold; show_if_any (or several values of one show_if): any. FHIR has one switch per item.
    many_values = any(len(c.in_ or ()) > 1 for c in item.show_if)
    behavior = "all" if item.show_if and not item.show_if_any and not many_values else "any"
    return conditions, behavior if len(conditions) > 1 else None


def build_questionnaire(instrument: Instrument) -> Questionnaire:
    items: list[dict[str, Any]] = []
    for item in instrument.items:
        entry: dict[str, Any] = {
            "linkId": item.key,
            "text": item.text.en,
            "type": {"choice": "choice", "multiple": "choice", "number": "integer"}[item.type],
            "required": False,  # a missing answer is scored by the instrument's own rule, never refused
        }
        if item.type == "multiple":
            entry["repeats"] = True
        if item.loinc:
            entry["code"] = [{"system": LOINC, "code": item.loinc, "display": item.text.en[:200]}]
        if item.type != "number":
            entry["answerOption"] = [
                {"valueCoding": _answer_coding(instrument, o.value, o.label.en, o.loinc)}
                for o in instrument.options_of(item)
            ]
        conditions, behavior = _enable_when(instrument, item)
        if conditions:
            entry["enableWhen"] = conditions
            if behavior:
                entry["enableBehavior"] = behavior
        items.append(entry)
    for scale in instrument.scales:
        entry = {"linkId": f"score-{scale.key}", "text": scale.title.en, "type": "decimal", "readOnly": True}
        if scale.loinc:
            entry["code"] = [{"system": LOINC, "code": scale.loinc, "display": scale.title.en}]
        items.append(entry)
    data: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": instrument.key.replace("_", "-"),
        "url": f"{CANONICAL}:{instrument.key}",
        "version": instrument.version,
        "name": "".join(ch for ch in instrument.short_title.title() if ch.isalnum()) or instrument.key,
        "title": instrument.title.en,
        "status": "active",
        "subjectType": ["Patient"],
        "description": f"{instrument.title.en}: screens for {instrument.measures.en}.",
        "copyright": f"{instrument.citation} {instrument.licence}",
        "item": items,
    }
    if instrument.loinc:
        data["code"] = [{"system": LOINC, "code": instrument.loinc, "display": instrument.title.en}]
    return Questionnaire.model_validate(data)


def build_questionnaire_response(response: ScreeningResponse, instrument: Instrument) -> QuestionnaireResponse:
    items: list[dict[str, Any]] = []
    for item in instrument.items:
        given = response.answers.get(item.key)
        if given is None or not instrument.is_asked(item, response.answers):
            continue
        answers: list[dict[str, Any]]
        if item.type == "number":
            answers = [{"valueInteger": given}]
        else:
            options = {o.value: o for o in instrument.options_of(item)}
            chosen = given if isinstance(given, list) else [given]
            answers = [
                {"valueCoding": _answer_coding(instrument, v, options[v].label.en, options[v].loinc)}
                for v in chosen
                if v in options
            ]
        items.append({"linkId": item.key, "text": item.text.en, "answer": answers})
    for row in response.results.get("scales", []):
        if row.get("score") is None:
            continue
        items.append({"linkId": f"score-{row['key']}", "answer": [{"valueDecimal": row["score"]}]})
    status = {
        ScreeningStatus.COMPLETED: "completed",
        ScreeningStatus.IN_PROGRESS: "in-progress",
        ScreeningStatus.WITHDRAWN: "stopped",
    }[ScreeningStatus(response.status)]
    data: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": str(response.pk),
        "questionnaire": questionnaire_url(instrument)
        if response.instrument_version == instrument.version
        else f"{CANONICAL}:{instrument.key}|{response.instrument_version}",
        "status": status,
        "subject": {"reference": f"Patient/{response.family_id}", "display": "The parent of this family"},
        "authored": (response.completed_at or response.created_at).isoformat(),
        "author": {"display": response.created_by_org.name},
        "item": items,
    }
    if response.language:
        data["language"] = response.language
    return QuestionnaireResponse.model_validate(data)
