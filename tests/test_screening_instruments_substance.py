"""The substance use and social needs screens (NIDA Quick Screen, TAPS, UNCOPE, AUDIT-C, CRAFFT 2.1, AHC HRSN) as
shipped: every file loads, every score a scale can reach lands in exactly one band, both sides of every published
cut-off give the band and next steps the header states, a missing answer leaves a scale unscored exactly as each
header says, the skip logic asks only what the instrument asks (TAPS-2 for endorsed substances, CRAFFT's CAR-only
path, AUDIT-C after "Never"), "None of the above" cannot be ticked with another answer, and the AHC safety answers
raise their alerts. No database: the instruments are data files scored in memory."""

from __future__ import annotations

import itertools

import pytest

from kinfold.screening.instruments import BUILT_IN_DIR, Answer, Instrument, Item, Result, Scale, load_instrument

KEYS = ("nida_quick_screen", "taps", "uncope", "audit_c", "crafft", "ahc_hrsn")
SUBSTANCE_KEYS = ("nida_quick_screen", "taps", "uncope", "audit_c", "crafft")
TAPS_1 = ["t1_tobacco", "t1_alcohol", "t1_drugs", "t1_rx"]
NO, YES = 0, 1


def instrument(key: str) -> Instrument:
    return load_instrument(BUILT_IN_DIR / f"{key}.yaml")


def scale(result: Result, key: str):
    return next(s for s in result.scales if s.key == key)


def asked(inst: Instrument, answers: dict[str, Answer]) -> list[str]:
    return [item.key for item in inst.asked(answers)]


# --- every file ------------------------------------------------------------------------------------------------
def _contributions(inst: Instrument, sc: Scale, item: Item) -> set[float]:
    """What one item can add to ``sc`` (0 too when the instrument's logic may leave it unasked)."""
    options = inst.options_of(item)
    if item.type == "multiple":
        plain = [o.value for o in options if not o.exclusive]
        choices = [[o.value] for o in options if o.exclusive]
        choices += [list(c) for n in range(1, len(plain) + 1) for c in itertools.combinations(plain, n)]
    else:
        choices = [[o.value] for o in options]
    out: set[float] = set()
    for chosen in choices:
        if sc.method == "count":
            out.add(sum(1 for v in chosen if v in sc.count_values))
        else:
            out.add(sum(chosen) if sc.method == "sum" else max(chosen))
    if item.show_if or item.show_if_any:
        out.add(0)
    return out


def reachable(inst: Instrument, sc: Scale) -> set[float]:
    parts = [_contributions(inst, sc, inst.item(key)) for key in sc.items]
    combine = max if sc.method == "max" else sum
    return {combine(c) for c in itertools.product(*parts)}


@pytest.mark.parametrize("key", KEYS)
def test_every_file_loads_under_its_own_key(key):
    assert instrument(key).key == key


@pytest.mark.parametrize("key", KEYS)
def test_every_reachable_score_falls_in_exactly_one_band_and_every_band_end_is_reachable(key):
    inst = instrument(key)
    for sc in inst.scales:
        scores = reachable(inst, sc)
        for score in scores:
            bands = [b for b in sc.bands if b.min <= score <= b.max]
            assert len(bands) == 1, f"{key}.{sc.key}: {score} is in {len(bands)} bands"
        for band in sc.bands:
            assert band.min in scores and band.max in scores, f"{key}.{sc.key}: {band.label.en} cannot be reached"


@pytest.mark.parametrize("key", SUBSTANCE_KEYS)
def test_substance_screens_are_filed_as_treatment_records_only_at_a_treatment_programme(key):
    inst = instrument(key)
    assert inst.kind_for("sud_treatment") == "substance_use_screen_treatment"
    assert inst.kind_for("opioid_treatment") == "substance_use_screen_treatment"
    assert inst.kind_for("obstetric") == "substance_use_screen"
    assert inst.kind_for("community") == "substance_use_screen"


@pytest.mark.parametrize("key", ["audit_c", "crafft", "ahc_hrsn"])
def test_a_spanish_speaker_sees_every_word_in_spanish(key):
    inst = instrument(key)
    assert inst.speaks("es") == "es"
    assert inst.title.es and inst.measures.es
    for item in inst.items:
        assert item.text.es, item.key
        for extra in (item.help, item.section, item.unit):
            assert extra is None or extra.es, item.key
        for option in inst.options_of(item):
            assert option.label.es, (item.key, option.value)
    for sc in inst.scales:
        assert sc.title.es
        for band in sc.bands:
            assert band.label.es, band.label.en
            assert band.advice is None or band.advice.es
    assert inst.critical_message is None or inst.critical_message.es


@pytest.mark.parametrize("key", ["nida_quick_screen", "taps", "uncope"])
def test_screens_without_an_official_spanish_version_ship_in_english_and_a_spanish_speaker_gets_english(key):
    inst = instrument(key)
    assert inst.languages == ("en",)
    assert inst.speaks("es") == "en"


@pytest.mark.parametrize(("key", "ages"), [("nida_quick_screen", (18, 120)), ("taps", (18, 120)), ("crafft", (12, 20))])
def test_adult_screens_are_for_adults_and_the_crafft_for_young_parents(key, ages):
    assert instrument(key).ages == ages


# --- NIDA Quick Screen ----------------------------------------------------------------------------------------
NIDA_NEVER = {"alcohol": 0, "tobacco": 0, "prescription": 0, "illegal": 0}


def test_nida_never_to_all_four_is_negative_and_proposes_nothing():
    result = instrument("nida_quick_screen").score(NIDA_NEVER)
    assert [(s.key, s.score, s.band.label.en) for s in result.scales] == [
        ("alcohol", 0, "Never"),
        ("tobacco", 0, "Never"),
        ("prescription", 0, "Never"),
        ("illegal", 0, "Never"),
    ]
    assert not result.positive
    assert result.needs == []


@pytest.mark.parametrize(
    ("substance", "needs"),
    [
        ("alcohol", ["sud_treatment"]),
        ("tobacco", []),
        ("prescription", ["sud_treatment"]),
        ("illegal", ["sud_treatment"]),
    ],
)
@pytest.mark.parametrize("answer", [1, 2, 3, 4])
def test_nida_any_answer_but_never_is_at_risk_for_that_substance_only(substance, needs, answer):
    result = instrument("nida_quick_screen").score({**NIDA_NEVER, substance: answer})
    assert scale(result, substance).positive
    assert scale(result, substance).score == answer
    assert [s.key for s in result.scales if s.positive] == [substance]
    assert result.needs == needs


def test_nida_tobacco_use_is_positive_but_proposes_no_referral_and_says_to_advise_quitting():
    result = instrument("nida_quick_screen").score({**NIDA_NEVER, "tobacco": 1})
    tobacco = scale(result, "tobacco")
    assert result.positive and result.needs == []
    assert tobacco.band.advice is not None and "QUIT-NOW" in tobacco.band.advice.en


def test_nida_a_substance_left_unanswered_is_not_scored_and_the_others_are():
    result = instrument("nida_quick_screen").score({"tobacco": 0, "prescription": 2, "illegal": 0})
    assert scale(result, "alcohol").score is None
    assert (
        scale(result, "alcohol").unscored == "1 question not answered; for this scale every question must be answered."
    )
    assert scale(result, "prescription").positive
    assert result.missing == ["alcohol"]


# --- TAPS ----------------------------------------------------------------------------------------------------------
TAPS_NEVER = {key: 0 for key in TAPS_1}
TAPS_SUBSTANCES = {
    # scale: (the TAPS-1 question that opens it, its opening TAPS-2 question, its two follow-ups)
    "tobacco": ("t1_tobacco", "t2_tobacco", ["t2_tobacco_daily10", "t2_tobacco_waking"]),
    "marijuana": ("t1_drugs", "t2_marijuana", ["t2_marijuana_urge", "t2_marijuana_concern"]),
    "cocaine_meth": ("t1_drugs", "t2_cocaine_meth", ["t2_cocaine_meth_weekly", "t2_cocaine_meth_concern"]),
    "heroin": ("t1_drugs", "t2_heroin", ["t2_heroin_control", "t2_heroin_concern"]),
    "opioids": ("t1_rx", "t2_opioids", ["t2_opioids_control", "t2_opioids_concern"]),
    "sedatives": ("t1_rx", "t2_sedatives", ["t2_sedatives_urge", "t2_sedatives_concern"]),
    "adhd_medication": ("t1_rx", "t2_adhd", ["t2_adhd_weekly", "t2_adhd_concern"]),
}


def test_taps_never_in_taps1_asks_nothing_more_and_every_substance_reads_no_use():
    taps = instrument("taps")
    assert asked(taps, TAPS_NEVER) == TAPS_1
    result = taps.score(TAPS_NEVER)
    assert all(s.score == 0 and not s.positive for s in result.scales)
    assert scale(result, "tobacco").band.label.en == "No use in the past 3 months"
    assert result.missing == [] and result.needs == []


@pytest.mark.parametrize(
    ("endorsed", "opened"),
    [
        ("t1_tobacco", ["t2_tobacco"]),
        ("t1_alcohol", ["t2_alcohol"]),
        ("t1_drugs", ["t2_marijuana", "t2_cocaine_meth", "t2_heroin", "t2_other_drugs"]),
        ("t1_rx", ["t2_opioids", "t2_sedatives", "t2_adhd"]),
    ],
)
def test_taps2_asks_only_about_the_substances_endorsed_in_taps1(endorsed, opened):
    taps = instrument("taps")
    for answer in (1, 4):
        assert asked(taps, {**TAPS_NEVER, endorsed: answer}) == TAPS_1 + opened


def test_taps2_follow_ups_are_asked_only_after_yes_to_using_the_substance():
    taps = instrument("taps")
    base = {**TAPS_NEVER, "t1_tobacco": 3}
    assert asked(taps, {**base, "t2_tobacco": NO}) == [*TAPS_1, "t2_tobacco"]
    assert asked(taps, {**base, "t2_tobacco": YES}) == [
        *TAPS_1,
        "t2_tobacco",
        "t2_tobacco_daily10",
        "t2_tobacco_waking",
    ]


def test_taps_answers_to_questions_the_logic_closed_do_not_count():
    # She first said yes and answered the follow-ups, then changed her TAPS-1 answer to Never.
    answers = {**TAPS_NEVER, "t2_heroin": YES, "t2_heroin_control": YES, "t2_heroin_concern": YES}
    result = instrument("taps").score(answers)
    assert scale(result, "heroin").score == 0
    assert not result.positive


@pytest.mark.parametrize("substance", sorted(TAPS_SUBSTANCES))
@pytest.mark.parametrize(
    ("used", "follow_ups", "score", "band", "positive"),
    [
        (NO, [], 0, "No use in the past 3 months", False),
        (YES, [NO, NO], 1, "Problem use", True),
        (YES, [YES, NO], 2, "Higher risk", True),
        (YES, [NO, YES], 2, "Higher risk", True),
        (YES, [YES, YES], 3, "Higher risk", True),
    ],
)
def test_taps_risk_level_per_substance_at_both_sides_of_each_cut_off(
    substance, used, follow_ups, score, band, positive
):
    gate, opener, rest = TAPS_SUBSTANCES[substance]
    answers: dict[str, Answer] = {**TAPS_NEVER, gate: 2, opener: used, **dict(zip(rest, follow_ups, strict=False))}
    for other_gate, other_opener, _ in TAPS_SUBSTANCES.values():
        if other_gate == gate and other_opener != opener:
            answers[other_opener] = NO
    if gate == "t1_drugs":
        answers["t2_other_drugs"] = NO
    result = instrument("taps").score(answers)
    got = scale(result, substance)
    assert (got.score, got.band.label.en, got.positive) == (score, band, positive)
    assert result.missing == []
    expected_needs = [] if not positive or substance == "tobacco" else ["sud_treatment"]
    assert result.needs == expected_needs


@pytest.mark.parametrize(
    ("heavy", "control", "concern", "score", "band", "positive"),
    [
        (NO, NO, NO, 0, "No risky use in the past 3 months", False),
        (YES, NO, NO, 1, "Problem use", True),
        (NO, NO, YES, 1, "Problem use", True),
        (YES, YES, NO, 2, "Higher risk", True),
        (YES, YES, YES, 3, "Higher risk", True),
    ],
)
def test_taps_alcohol_scores_the_three_follow_ups_not_the_opening_question(
    heavy, control, concern, score, band, positive
):
    answers = {
        **TAPS_NEVER,
        "t1_alcohol": 1,
        "t2_alcohol": YES,
        "t2_alcohol_heavy": heavy,
        "t2_alcohol_control": control,
        "t2_alcohol_concern": concern,
    }
    result = instrument("taps").score(answers)
    got = scale(result, "alcohol")
    assert (got.score, got.band.label.en, got.positive) == (score, band, positive)
    assert result.needs == (["sud_treatment"] if positive else [])


def test_taps_drinking_in_the_past_3_months_without_heavy_days_is_not_scored_as_risk():
    answers = {**TAPS_NEVER, "t1_alcohol": 1, "t2_alcohol": NO}
    result = instrument("taps").score(answers)
    assert scale(result, "alcohol").score == 0
    assert asked(instrument("taps"), answers) == [*TAPS_1, "t2_alcohol"]


@pytest.mark.parametrize(("used", "score", "positive"), [(NO, 0, False), (YES, 1, True)])
def test_taps_any_other_drug_in_the_past_3_months_is_problem_use(used, score, positive):
    answers = {
        **TAPS_NEVER,
        "t1_drugs": 1,
        "t2_marijuana": NO,
        "t2_cocaine_meth": NO,
        "t2_heroin": NO,
        "t2_other_drugs": used,
    }
    got = scale(instrument("taps").score(answers), "other_drugs")
    assert (got.score, got.positive) == (score, positive)


def test_taps_each_substance_is_read_on_its_own():
    # Weekly cigarettes (not daily, not on waking), monthly heavy drinking once, and heroin she has tried to stop.
    answers = {
        "t1_tobacco": 3,
        "t1_alcohol": 2,
        "t1_drugs": 3,
        "t1_rx": 0,
        "t2_tobacco": YES,
        "t2_tobacco_daily10": NO,
        "t2_tobacco_waking": NO,
        "t2_alcohol": YES,
        "t2_alcohol_heavy": YES,
        "t2_alcohol_control": NO,
        "t2_alcohol_concern": NO,
        "t2_marijuana": NO,
        "t2_cocaine_meth": NO,
        "t2_heroin": YES,
        "t2_heroin_control": YES,
        "t2_heroin_concern": YES,
        "t2_other_drugs": NO,
    }
    result = instrument("taps").score(answers)
    assert {s.key: (s.score, s.band.label.en) for s in result.scales} == {
        "tobacco": (1, "Problem use"),
        "alcohol": (1, "Problem use"),
        "marijuana": (0, "No use in the past 3 months"),
        "cocaine_meth": (0, "No use in the past 3 months"),
        "heroin": (3, "Higher risk"),
        "opioids": (0, "No use in the past 3 months"),
        "sedatives": (0, "No use in the past 3 months"),
        "adhd_medication": (0, "No use in the past 3 months"),
        "other_drugs": (0, "No use in the past 3 months"),
    }
    assert result.needs == ["sud_treatment"]


def test_taps_a_substance_with_an_unanswered_taps2_question_is_not_scored_and_the_others_are():
    answers = {
        **TAPS_NEVER,
        "t1_tobacco": 1,
        "t1_drugs": 1,
        "t2_tobacco": YES,
        "t2_tobacco_daily10": YES,
        "t2_tobacco_waking": NO,
        "t2_marijuana": NO,
        "t2_cocaine_meth": NO,
        "t2_heroin": YES,
        "t2_heroin_control": NO,
        # t2_heroin_concern left unanswered
        "t2_other_drugs": NO,
    }
    result = instrument("taps").score(answers)
    assert scale(result, "heroin").score is None
    assert "1 question not answered" in scale(result, "heroin").unscored
    assert scale(result, "tobacco").score == 2
    assert result.missing == ["t2_heroin_concern"]


def test_taps_an_unanswered_opening_question_leaves_its_substance_unscored():
    answers = {**TAPS_NEVER, "t1_rx": 1, "t2_sedatives": NO, "t2_adhd": NO}
    result = instrument("taps").score(answers)
    assert scale(result, "opioids").score is None
    assert result.missing == ["t2_opioids"]


def test_taps_an_unanswered_taps1_question_leaves_that_substance_unscored_not_read_as_no_use():
    # The TAPS-2 questions a blank TAPS-1 question would open count as missing, not as "not asked" (0).
    answers = {"t1_alcohol": 0, "t1_drugs": 0, "t1_rx": 0}
    taps = instrument("taps")
    result = taps.score(answers)
    assert result.missing == ["t1_tobacco"]
    assert "t2_tobacco" not in asked(taps, answers)
    assert scale(result, "tobacco").score is None and "not answered" in scale(result, "tobacco").unscored
    assert scale(result, "alcohol").score == 0


# --- UNCOPE --------------------------------------------------------------------------------------------------------
UNCOPE_ITEMS = ["used", "neglected", "cut_down", "objected", "preoccupied", "emotional"]


def uncope_yes(*keys: str) -> dict[str, Answer]:
    return {key: YES if key in keys else NO for key in UNCOPE_ITEMS}


@pytest.mark.parametrize(
    ("yes", "score", "positive"),
    [
        ((), 0, False),
        (("emotional",), 1, False),
        (("used", "cut_down"), 2, True),
        (("objected", "preoccupied"), 2, True),
        (("used", "neglected", "cut_down"), 3, True),
        (tuple(UNCOPE_ITEMS), 6, True),
    ],
)
def test_uncope_two_or_more_yes_answers_is_positive(yes, score, positive):
    result = instrument("uncope").score(uncope_yes(*yes))
    total = scale(result, "total")
    assert (total.score, total.positive) == (score, positive)
    assert result.needs == (["sud_treatment"] if positive else [])


def test_uncope_with_a_question_unanswered_is_not_scored():
    answers = uncope_yes("used", "cut_down")
    del answers["emotional"]
    result = instrument("uncope").score(answers)
    assert scale(result, "total").score is None
    assert result.missing == ["emotional"]


# --- AUDIT-C -------------------------------------------------------------------------------------------------------
def test_audit_c_never_drinking_asks_nothing_more_and_scores_0():
    audit = instrument("audit_c")
    assert asked(audit, {"q1": 0}) == ["q1"]
    result = audit.score({"q1": 0})
    assert scale(result, "total").score == 0
    assert scale(result, "total").band.label.en == "Negative"
    assert result.missing == []


def test_audit_c_answers_left_from_before_a_never_do_not_count():
    result = instrument("audit_c").score({"q1": 0, "q2": 4, "q3": 4})
    assert scale(result, "total").score == 0


def test_audit_c_any_drinking_asks_how_much_and_how_often_heavily():
    assert asked(instrument("audit_c"), {"q1": 1}) == ["q1", "q2", "q3"]


@pytest.mark.parametrize(
    ("answers", "score", "positive"),
    [
        ({"q1": 1, "q2": 0, "q3": 0}, 1, False),
        ({"q1": 2, "q2": 0, "q3": 0}, 2, False),  # 2-4 times a month, 1 or 2 drinks, never 6 or more
        ({"q1": 1, "q2": 1, "q3": 0}, 2, False),
        ({"q1": 2, "q2": 1, "q3": 0}, 3, True),  # the cut-off for women
        ({"q1": 3, "q2": 0, "q3": 0}, 3, True),  # every point from question 1: still positive as published
        ({"q1": 1, "q2": 0, "q3": 2}, 3, True),
        ({"q1": 4, "q2": 4, "q3": 4}, 12, True),
    ],
)
def test_audit_c_women_score_3_or_more_positive(answers, score, positive):
    result = instrument("audit_c").score(answers)
    total = scale(result, "total")
    assert (total.score, total.positive) == (score, positive)
    assert result.needs == (["sud_treatment"] if positive else [])


def test_audit_c_negative_band_reminds_staff_that_no_alcohol_is_known_safe_in_pregnancy():
    band = scale(instrument("audit_c").score({"q1": 1, "q2": 0, "q3": 0}), "total").band
    assert band.advice is not None and "pregnancy" in band.advice.en


@pytest.mark.parametrize(
    ("answers", "missing"), [({"q1": 2, "q2": 1}, ["q3"]), ({"q2": 1, "q3": 1}, ["q1"]), ({}, ["q1"])]
)
def test_audit_c_with_an_asked_question_unanswered_is_not_scored(answers, missing):
    result = instrument("audit_c").score(answers)
    assert scale(result, "total").score is None
    assert result.missing == missing


def test_audit_c_carries_its_loinc_codes():
    audit = instrument("audit_c")
    assert audit.loinc == "72109-2"
    assert [audit.item(k).loinc for k in ("q1", "q2", "q3")] == ["68518-0", "68519-8", "68520-6"]
    assert audit.scale("total").loinc == "75626-2"


# --- CRAFFT 2.1 ------------------------------------------------------------------------------------------------------
PART_A = ["a_alcohol", "a_marijuana", "a_other"]
PART_B = ["car", "relax", "alone", "forget", "friends", "trouble"]
NO_USE = {"a_alcohol": 0, "a_marijuana": 0, "a_other": 0}


@pytest.mark.parametrize("car", [NO, YES])
def test_crafft_no_use_in_part_a_asks_only_car_and_scores_it(car):
    crafft = instrument("crafft")
    assert asked(crafft, NO_USE) == [*PART_A, "car"]
    result = crafft.score({**NO_USE, "car": car})
    total = scale(result, "total")
    assert total.score == car
    assert total.band.label.en == "Lower risk" and not total.positive
    assert result.missing == []


def test_crafft_on_the_car_only_path_answers_to_the_other_five_do_not_count():
    answers = {**NO_USE, "car": YES, **{key: YES for key in PART_B[1:]}}
    assert scale(instrument("crafft").score(answers), "total").score == 1


@pytest.mark.parametrize("used", PART_A)
def test_crafft_one_day_of_any_use_asks_all_six(used):
    assert asked(instrument("crafft"), {**NO_USE, used: 1}) == [*PART_A, *PART_B]


@pytest.mark.parametrize(
    ("yes", "score", "band", "positive"),
    [
        ((), 0, "Lower risk", False),
        (("car",), 1, "Lower risk", False),
        (("relax",), 1, "Lower risk", False),
        (("relax", "alone"), 2, "High risk", True),
        (("car", "trouble"), 2, "High risk", True),
        (tuple(PART_B), 6, "High risk", True),
    ],
)
def test_crafft_two_or_more_yes_answers_is_high_risk(yes, score, band, positive):
    answers = {"a_alcohol": 12, "a_marijuana": 0, "a_other": 0, **{k: YES if k in yes else NO for k in PART_B}}
    result = instrument("crafft").score(answers)
    total = scale(result, "total")
    assert (total.score, total.band.label.en, total.positive) == (score, band, positive)
    assert result.needs == (["sud_treatment"] if positive else [])


def test_crafft_part_a_days_are_kept_but_not_scored():
    crafft = instrument("crafft")
    few = {"a_alcohol": 1, "a_marijuana": 0, "a_other": 0, **{k: NO for k in PART_B}}
    many = {**few, "a_alcohol": 365, "a_marijuana": 200, "a_other": 30}
    assert scale(crafft.score(few), "total").score == scale(crafft.score(many), "total").score == 0
    assert all(not crafft.item(k).scored for k in PART_A)
    assert all(k not in crafft.scale("total").items for k in PART_A)


@pytest.mark.parametrize("raw", [-1, 366, "a few"])
def test_crafft_part_a_takes_a_whole_number_of_days_from_0_to_365(raw):
    crafft = instrument("crafft")
    with pytest.raises(ValueError):
        crafft.clean_answer(crafft.item("a_alcohol"), raw)
    assert crafft.clean_answer(crafft.item("a_alcohol"), "365") == 365


def test_crafft_with_a_part_b_question_unanswered_is_not_scored():
    answers = {"a_alcohol": 0, "a_marijuana": 3, "a_other": 0, **{k: NO for k in PART_B}}
    del answers["forget"]
    result = instrument("crafft").score(answers)
    assert scale(result, "total").score is None
    assert result.missing == ["forget"]


def test_crafft_with_part_a_left_blank_only_car_is_asked_and_the_score_is_not_read_as_car_alone():
    # Part B's other five questions wait on Part A: with Part A blank they are missing, so the total is not
    # scored (it would otherwise read as CAR alone and look reassuring).
    crafft = instrument("crafft")
    result = crafft.score({"car": YES})
    assert asked(crafft, {"car": YES}) == [*PART_A, "car"]
    assert scale(result, "total").score is None
    assert result.missing == PART_A


# --- AHC HRSN ----------------------------------------------------------------------------------------------------
NONE_OF_THE_ABOVE = 0
AHC_CLEAR: dict[str, Answer] = {
    "q1": 0,
    "q2": [NONE_OF_THE_ABOVE],
    "q3": 0,
    "q4": 0,
    "q5": 0,
    "q6": 0,
    "q7": 1,
    "q8": 1,
    "q9": 1,
    "q10": 1,
}


def test_ahc_no_needs_is_negative_everywhere_with_no_alert():
    result = instrument("ahc_hrsn").score(AHC_CLEAR)
    assert not result.positive and not result.critical
    assert result.needs == []
    assert scale(result, "safety").score == 4


@pytest.mark.parametrize(
    ("answer", "band", "positive"),
    [
        (0, "Steady place to live", False),
        (1, "Worried about losing her housing", True),
        (2, "No steady place to live", True),
    ],
)
def test_ahc_living_situation(answer, band, positive):
    result = instrument("ahc_hrsn").score({**AHC_CLEAR, "q1": answer})
    got = scale(result, "living_situation")
    assert (got.band.label.en, got.positive) == (band, positive)
    assert result.needs == (["housing"] if positive else [])


@pytest.mark.parametrize(
    ("ticked", "score", "positive"),
    [([NONE_OF_THE_ABOVE], 0, False), ([2], 1, True), ([1, 3], 2, True), ([1, 2, 3, 4, 5, 6, 7], 7, True)],
)
def test_ahc_any_problem_with_the_home_is_positive(ticked, score, positive):
    result = instrument("ahc_hrsn").score({**AHC_CLEAR, "q2": ticked})
    got = scale(result, "housing_problems")
    assert (got.score, got.positive) == (score, positive)
    assert result.needs == (["housing"] if positive else [])


def test_ahc_none_of_the_above_cannot_be_ticked_with_a_problem():
    ahc = instrument("ahc_hrsn")
    q2 = ahc.item("q2")
    with pytest.raises(ValueError, match="cannot be chosen with another answer"):
        ahc.clean_answer(q2, [NONE_OF_THE_ABOVE, 2])
    assert ahc.clean_answer(q2, [str(NONE_OF_THE_ABOVE)]) == [NONE_OF_THE_ABOVE]
    assert ahc.clean_answer(q2, ["3", "1"]) == [1, 3]


def test_ahc_a_refused_none_with_a_problem_answer_is_no_answer_so_the_home_is_not_scored():
    result = instrument("ahc_hrsn").score({**AHC_CLEAR, "q2": [NONE_OF_THE_ABOVE, 5]})
    assert scale(result, "housing_problems").score is None
    assert result.missing == ["q2"]


@pytest.mark.parametrize(
    ("q3", "q4", "score", "positive"),
    [(0, 0, 0, False), (1, 0, 1, True), (0, 2, 1, True), (2, 1, 2, True), (2, 2, 2, True)],
)
def test_ahc_food_is_positive_for_often_or_sometimes_true_to_either_question(q3, q4, score, positive):
    result = instrument("ahc_hrsn").score({**AHC_CLEAR, "q3": q3, "q4": q4})
    got = scale(result, "food")
    assert (got.score, got.positive) == (score, positive)
    assert result.needs == (["food"] if positive else [])


@pytest.mark.parametrize(("answer", "positive"), [(0, False), (1, True)])
def test_ahc_transportation(answer, positive):
    result = instrument("ahc_hrsn").score({**AHC_CLEAR, "q5": answer})
    assert scale(result, "transportation").positive is positive
    assert result.needs == (["transport"] if positive else [])


@pytest.mark.parametrize(
    ("answer", "band", "positive"),
    [(0, "Negative", False), (1, "Shut-off threatened", True), (2, "Already shut off", True)],
)
def test_ahc_utilities_threatened_or_already_shut_off(answer, band, positive):
    result = instrument("ahc_hrsn").score({**AHC_CLEAR, "q6": answer})
    got = scale(result, "utilities")
    assert (got.band.label.en, got.positive) == (band, positive)
    assert result.needs == (["housing"] if positive else [])


@pytest.mark.parametrize(
    ("hurt", "insult", "threaten", "scream", "score", "positive"),
    [
        (1, 1, 1, 1, 4, False),
        (3, 3, 2, 2, 10, False),  # Sometimes, Sometimes, Rarely, Rarely
        (3, 3, 3, 2, 11, True),  # CMS: 11 or more "might not be safe"
        (3, 3, 3, 3, 12, True),
        (5, 5, 5, 5, 20, True),
    ],
)
def test_ahc_safety_total_of_11_or_more_is_positive_and_raises_an_alert(
    hurt, insult, threaten, scream, score, positive
):
    answers = {**AHC_CLEAR, "q7": hurt, "q8": insult, "q9": threaten, "q10": scream}
    result = instrument("ahc_hrsn").score(answers)
    safety = scale(result, "safety")
    assert (safety.score, safety.positive) == (score, positive)
    assert result.critical_scales == (["safety"] if positive else [])
    assert result.needs == (["ipv_services"] if positive else [])


@pytest.mark.parametrize("item", ["q7", "q8", "q9", "q10"])
@pytest.mark.parametrize(("answer", "critical"), [(3, False), (4, True), (5, True)])
def test_ahc_fairly_often_or_frequently_to_any_safety_question_raises_an_alert_whatever_the_total(
    item, answer, critical
):
    result = instrument("ahc_hrsn").score({**AHC_CLEAR, item: answer})
    assert scale(result, "safety").score == 3 + answer and not scale(result, "safety").positive
    assert result.critical_items == ([item] if critical else [])
    assert result.critical is critical


def test_ahc_a_critical_safety_answer_raises_its_alert_even_when_the_total_cannot_be_scored():
    answers = {**AHC_CLEAR, "q7": 5}
    del answers["q10"]
    result = instrument("ahc_hrsn").score(answers)
    assert scale(result, "safety").score is None
    assert result.critical_items == ["q7"]
    assert result.missing == ["q10"]


def test_ahc_a_family_with_several_needs_gets_each_proposed_once():
    answers = {**AHC_CLEAR, "q1": 1, "q2": [4], "q3": 1, "q5": 1, "q6": 2, "q7": 4, "q8": 3, "q9": 2, "q10": 3}
    result = instrument("ahc_hrsn").score(answers)
    assert result.needs == ["housing", "food", "transport", "ipv_services"]
    assert result.critical_scales == ["safety"] and result.critical_items == ["q7"]


def test_ahc_is_filed_as_safety_answers_one_question_per_screen_with_a_message_for_staff():
    ahc = instrument("ahc_hrsn")
    for org_type in ("community", "obstetric", "child_welfare", "sud_treatment"):
        assert ahc.kind_for(org_type) == "social_needs_safety"
    assert ahc.one_per_screen
    assert ahc.critical_message is not None and "alone" in ahc.critical_message.en


def test_ahc_carries_its_loinc_codes():
    ahc = instrument("ahc_hrsn")
    assert ahc.loinc == "96777-8"
    assert [ahc.item(f"q{n}").loinc for n in range(1, 11)] == [
        "71802-3",
        "96778-6",
        "88122-7",
        "88123-5",
        "93030-5",
        "96779-4",
        "95618-5",
        "95617-7",
        "95616-9",
        "95615-1",
    ]
    assert ahc.scale("safety").loinc == "95614-4"
