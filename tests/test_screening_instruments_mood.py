"""The mood, anxiety and childhood-adversity screens (PHQ-9, PHQ-2, GAD-7, EPDS, ACE) as shipped: every file
loads, every total lands in the band its published cut-offs give, a missing answer is prorated or left unscored
exactly as each file's header says, a critical answer raises its alert, and a follow-up question is asked only
when the instrument says so. No database: the instruments are data files scored in memory."""

from __future__ import annotations

import pytest

from kinfold.screening.instruments import BUILT_IN_DIR, Answer, Instrument, Result, load_instrument

KEYS = ("phq9", "phq2", "gad7", "epds", "ace")


def instrument(key: str) -> Instrument:
    return load_instrument(BUILT_IN_DIR / f"{key}.yaml")


def answers_totalling(inst: Instrument, total: int, *, scale: str = "total") -> dict[str, Answer]:
    """An answer to every item of ``scale`` (each an option's value), adding up to ``total``."""
    answers: dict[str, Answer] = {}
    left = total
    for key in inst.scale(scale).items:
        values = sorted(o.value for o in inst.options_of(inst.item(key)))
        value = max(v for v in values if v <= left)
        answers[key] = value
        left -= value
    assert left == 0, f"{inst.key}: cannot reach {total}"
    return answers


def total(result: Result):
    return result.scales[0]


# --- every file ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("key", KEYS)
def test_every_file_loads_under_its_own_key(key):
    assert instrument(key).key == key


@pytest.mark.parametrize("key", KEYS)
def test_every_possible_total_falls_in_exactly_one_band(key):
    inst = instrument(key)
    for scale in inst.scales:
        low, high = inst.score_range(scale)
        for score in range(int(low), int(high) + 1):
            bands = [b for b in scale.bands if b.min <= score <= b.max]
            assert len(bands) == 1, f"{key}.{scale.key}: {score} is in {len(bands)} bands"
        assert min(b.min for b in scale.bands) == low and max(b.max for b in scale.bands) == high


@pytest.mark.parametrize("key", ["phq9", "phq2", "gad7", "epds"])
def test_a_spanish_speaker_sees_every_word_in_spanish(key):
    inst = instrument(key)
    assert inst.title.es and inst.measures.es
    assert inst.preamble is not None and inst.preamble.es
    for item in inst.items:
        assert item.text.es, item.key
        for option in inst.options_of(item):
            assert option.label.es, (item.key, option.value)
    for scale in inst.scales:
        assert scale.title.es
        for band in scale.bands:
            assert band.label.es, band.label.en
            assert band.advice is None or band.advice.es
    assert inst.critical_message is None or inst.critical_message.es


def test_the_ace_questionnaire_ships_in_english_only_and_a_spanish_speaker_gets_english_not_a_gap():
    ace = instrument("ace")
    assert ace.languages == ("en",)
    assert ace.speaks("es") == "en"


@pytest.mark.parametrize(
    ("key", "panel", "score"),
    [
        ("phq9", "44249-1", "44261-6"),
        ("phq2", "55757-9", "55758-7"),
        ("gad7", "69737-5", "70274-6"),
        ("epds", "71354-5", "99046-5"),
        ("ace", "82813-7", None),
    ],
)
def test_results_carry_the_loinc_codes_a_receiving_record_system_expects(key, panel, score):
    inst = instrument(key)
    assert inst.loinc == panel
    assert inst.scale("total").loinc == score


@pytest.mark.parametrize(
    ("key", "kind"),
    [("phq9", "mental_health_screen"), ("phq2", "mental_health_screen"), ("gad7", "mental_health_screen"),
     ("epds", "mental_health_screen"), ("ace", "trauma_screen")],
)  # fmt: skip
def test_responses_are_filed_as_the_right_kind_of_information(key, kind):
    assert instrument(key).kind_for("community") == kind


# --- band boundaries: both sides of every cut-off --------------------------------------------------------------
BOUNDARIES = {
    "phq9": [
        (0, "Minimal or none", False), (4, "Minimal or none", False),
        (5, "Mild", False), (9, "Mild", False),
        (10, "Moderate", True), (14, "Moderate", True),
        (15, "Moderately severe", True), (19, "Moderately severe", True),
        (20, "Severe", True), (27, "Severe", True),
    ],
    "phq2": [
        (0, "Negative screen", False), (2, "Negative screen", False),
        (3, "Positive screen", True), (6, "Positive screen", True),
    ],
    "gad7": [
        (0, "Minimal", False), (4, "Minimal", False),
        (5, "Mild", False), (9, "Mild", False),
        (10, "Moderate", True), (14, "Moderate", True),
        (15, "Severe", True), (21, "Severe", True),
    ],
    "epds": [
        (0, "Depression unlikely", False), (9, "Depression unlikely", False),
        (10, "Possible depression", True), (12, "Possible depression", True),
        (13, "Probable depression", True), (30, "Probable depression", True),
    ],
    "ace": [
        (0, "No ACEs reported", False),
        (1, "1 to 3 ACEs", False), (3, "1 to 3 ACEs", False),
        (4, "4 or more ACEs", True), (10, "4 or more ACEs", True),
    ],
}  # fmt: skip


@pytest.mark.parametrize(
    ("key", "score", "band", "positive"),
    [(key, *case) for key, cases in BOUNDARIES.items() for case in cases],
)
def test_a_total_at_each_cut_off_lands_in_the_published_band(key, score, band, positive):
    inst = instrument(key)
    result = inst.score(answers_totalling(inst, score))
    scored = total(result)
    assert scored.score == score
    assert not scored.prorated and scored.unscored == ""
    assert scored.band is not None and scored.band.label.en == band
    assert scored.positive is positive
    assert result.positive is positive
    assert result.needs == (["mental_health"] if positive else [])


# --- published worked examples ---------------------------------------------------------------------------------
def test_epds_items_1_2_and_4_score_in_the_order_shown_and_the_others_in_reverse():
    epds = instrument("epds")
    for item in epds.items:
        values = [o.value for o in epds.options_of(item)]
        if item.key in ("q1", "q2", "q4"):
            assert values == [0, 1, 2, 3], item.key
        else:
            assert values == [3, 2, 1, 0], item.key


def test_epds_the_first_answer_on_every_item_totals_21_and_raises_the_item_10_alert():
    epds = instrument("epds")
    first = {item.key: epds.options_of(item)[0].value for item in epds.items}
    result = epds.score(first)
    assert total(result).score == 21  # 0 + 0 + 3 + 0 + 3 x 6 (items 1, 2, 4 in order; 3, 5-10 reversed)
    assert total(result).band.label.en == "Probable depression"
    assert result.critical_items == ["q10"]  # the first answer to item 10 is "Yes, quite often"


def test_epds_the_last_answer_on_every_item_totals_9_and_raises_no_alert():
    epds = instrument("epds")
    last = {item.key: epds.options_of(item)[-1].value for item in epds.items}
    result = epds.score(last)
    assert total(result).score == 9  # 3 + 3 + 0 + 3 + 0 x 6
    assert total(result).band.label.en == "Depression unlikely"
    assert result.critical_items == []


def test_epds_answer_wording_carries_the_published_value():
    epds = instrument("epds")

    def value_of(item: str, label: str) -> int:
        return next(o.value for o in epds.options_of(epds.item(item)) if o.label.en == label)

    assert value_of("q1", "Not at all") == 3
    assert value_of("q3", "Yes, most of the time") == 3
    assert value_of("q3", "No, never") == 0
    assert value_of("q4", "Yes, very often") == 3
    assert value_of("q6", "No, I have been coping as well as ever") == 0
    assert value_of("q10", "Never") == 0
    assert value_of("q10", "Yes, quite often") == 3


def test_ace_each_yes_counts_one():
    ace = instrument("ace")
    keys = [item.key for item in ace.items]
    assert total(ace.score(dict.fromkeys(keys, 1))).score == 10
    assert total(ace.score(dict.fromkeys(keys, 0))).score == 0
    three = {k: (1 if k in ("q1", "q6", "q8") else 0) for k in keys}
    assert total(ace.score(three)).score == 3


def test_phq2_asks_exactly_phq9_items_1_and_2():
    phq9, phq2 = instrument("phq9"), instrument("phq2")
    assert [i.key for i in phq2.items] == ["q1", "q2"]
    for item in phq2.items:
        same = phq9.item(item.key)
        assert (item.text, item.loinc) == (same.text, same.loinc)
        assert phq2.options_of(item) == phq9.options_of(same)
    assert phq2.preamble == phq9.preamble


# --- missing answers -------------------------------------------------------------------------------------------
def test_phq9_with_one_item_unanswered_is_prorated_rounding_half_up():
    phq9 = instrument("phq9")
    answers = {"q1": 1, "q2": 1, "q3": 1, "q4": 1, "q5": 0, "q6": 0, "q7": 0, "q8": 0, "q10": 0}  # q9 unanswered
    result = phq9.score(answers)
    scored = total(result)
    assert scored.prorated and scored.score == 5  # 4 / 8 x 9 = 4.5, rounded half up: Mild, not Minimal
    assert scored.band.label.en == "Mild"
    assert result.missing == ["q9"]


def test_phq9_with_two_items_unanswered_is_still_prorated():
    phq9 = instrument("phq9")
    answers = {f"q{i}": 2 for i in range(1, 8)}  # q8 and q9 unanswered
    scored = total(phq9.score(answers))
    assert scored.prorated and scored.score == 18  # 14 / 7 x 9


def test_phq9_with_three_items_unanswered_is_not_scored_and_says_why():
    phq9 = instrument("phq9")
    scored = total(phq9.score({f"q{i}": 1 for i in range(1, 7)}))
    assert scored.score is None and scored.band is None
    assert scored.unscored == (
        "3 questions not answered; for this scale no more than 2 questions may be left unanswered."
    )


@pytest.mark.parametrize(
    ("answered", "score", "positive"),
    [
        ([2, 2, 2, 1, 1, 0], 9, False),  # 8 / 6 x 7 = 9.33: stays below the cut-off
        ([2, 2, 2, 2, 1, 0], 11, True),  # 9 / 6 x 7 = 10.5, rounded half up: crosses it
        ([2, 2, 2, 1, 0], 10, True),  # two unanswered: 7 / 5 x 7 = 9.8
    ],
)
def test_gad7_with_one_or_two_items_unanswered_is_prorated(answered, score, positive):
    gad7 = instrument("gad7")
    answers = {f"q{i + 1}": v for i, v in enumerate(answered)}
    result = gad7.score(answers)
    scored = total(result)
    assert scored.prorated and scored.score == score
    assert scored.positive is positive
    assert result.needs == (["mental_health"] if positive else [])


def test_gad7_with_three_items_unanswered_is_not_scored_and_says_why():
    gad7 = instrument("gad7")
    scored = total(gad7.score({"q1": 3, "q2": 3, "q3": 3, "q4": 3}))
    assert scored.score is None and not scored.positive
    assert scored.unscored == (
        "3 questions not answered; for this scale no more than 2 questions may be left unanswered."
    )


@pytest.mark.parametrize("key", ["phq2", "epds", "ace"])
def test_one_unanswered_item_leaves_the_score_unscored_where_no_prorating_is_allowed(key):
    inst = instrument(key)
    answers = answers_totalling(inst, 0)
    skipped = inst.scale("total").items[0]
    del answers[skipped]
    result = inst.score(answers)
    scored = total(result)
    assert scored.score is None and scored.band is None and not scored.prorated
    assert scored.unscored == "1 question not answered; for this scale every question must be answered."
    assert result.missing == [skipped]
    assert not result.positive and result.needs == []


def test_an_answer_that_is_not_one_of_the_options_counts_as_unanswered():
    epds = instrument("epds")
    answers = answers_totalling(epds, 0)
    answers["q3"] = 4
    assert total(epds.score(answers)).score is None


# --- critical answers ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [1, 2, 3])
def test_phq9_any_answer_above_not_at_all_to_item_9_raises_the_alert(value):
    phq9 = instrument("phq9")
    answers = answers_totalling(phq9, 0) | {"q9": value, "q10": 0}
    result = phq9.score(answers)
    assert result.critical_items == ["q9"] and result.critical
    assert phq9.critical_message is not None


def test_phq9_not_at_all_to_item_9_raises_no_alert_even_with_a_severe_total():
    phq9 = instrument("phq9")
    answers = {f"q{i}": 3 for i in range(1, 9)} | {"q9": 0, "q10": 3}
    result = phq9.score(answers)
    assert total(result).band.label.en == "Severe"
    assert result.critical_items == [] and not result.critical


@pytest.mark.parametrize(("label", "value"), [("Yes, quite often", 3), ("Sometimes", 2), ("Hardly ever", 1)])
def test_epds_any_thought_of_self_harm_at_item_10_raises_the_alert_whatever_the_total(label, value):
    epds = instrument("epds")
    option = next(o for o in epds.options_of(epds.item("q10")) if o.label.en == label)
    assert option.value == value
    answers = answers_totalling(epds, 0) | {"q10": value}
    result = epds.score(answers)
    assert result.critical_items == ["q10"] and result.critical
    assert total(result).score == value  # a low total: the alert does not wait for a positive screen
    assert epds.critical_message is not None and "item 10" in epds.critical_message.en


def test_epds_never_at_item_10_raises_no_alert():
    epds = instrument("epds")
    result = epds.score(answers_totalling(epds, 30) | {"q10": 0})
    assert result.critical_items == [] and not result.critical


def test_epds_item_10_raises_the_alert_even_when_other_items_are_unanswered():
    epds = instrument("epds")
    result = epds.score({"q10": 1})
    assert total(result).score is None
    assert result.critical_items == ["q10"]


@pytest.mark.parametrize("key", ["phq2", "gad7", "ace"])
def test_instruments_without_a_critical_item_never_raise_an_alert(key):
    inst = instrument(key)
    highest = {item.key: max(o.value for o in inst.options_of(item)) for item in inst.items}
    result = inst.score(highest)
    assert result.critical_items == [] and result.critical_scales == [] and not result.critical


# --- skip logic ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("key", "follow_up", "symptoms"), [("phq9", "q10", 9), ("gad7", "q8", 7)])
def test_the_how_difficult_question_is_not_asked_when_no_problem_was_checked(key, follow_up, symptoms):
    inst = instrument(key)
    none = {f"q{i}": 0 for i in range(1, symptoms + 1)}
    assert follow_up not in [i.key for i in inst.asked(none)]
    result = inst.score(none)
    assert result.missing == []  # not asked, so not missing
    assert total(result).score == 0


@pytest.mark.parametrize(
    ("key", "follow_up", "checked"),
    [("phq9", "q10", f"q{i}") for i in range(1, 10)] + [("gad7", "q8", f"q{i}") for i in range(1, 8)],
)
def test_the_how_difficult_question_is_asked_once_any_problem_was_checked(key, follow_up, checked):
    inst = instrument(key)
    symptoms = inst.scale("total").items
    answers = dict.fromkeys(symptoms, 0) | {checked: 1}
    assert follow_up in [i.key for i in inst.asked(answers)]
    result = inst.score(answers)
    assert result.missing == [follow_up]  # asked and not yet answered
    assert total(result).score == 1 and not total(result).prorated  # kept, never scored


def test_the_how_difficult_answer_never_changes_the_score():
    gad7 = instrument("gad7")
    answers = dict.fromkeys(gad7.scale("total").items, 1)
    assert total(gad7.score(answers | {"q8": 0})).score == total(gad7.score(answers | {"q8": 3})).score == 7
