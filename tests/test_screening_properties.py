"""Properties of every shipped screening instrument (issue 13), drawn by Hypothesis: any complete response
scores within the instrument's range and lands in exactly one band; the score does not depend on the order the
answers are stored in; and whatever is asked next depends only on the answers, never on their order."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kinfold.screening.instruments import Answer, Instrument, catalogue

INSTRUMENTS = sorted(catalogue())


@st.composite
def complete_response(draw: Any, instrument: Instrument) -> dict[str, Answer]:
    """Answers to every question the instrument asks, given the answers drawn before it (skip logic followed)."""
    answers: dict[str, Answer] = {}
    for item in instrument.items:
        if not instrument.is_asked(item, answers):
            continue
        if item.type == "number":
            assert item.minimum is not None and item.maximum is not None
            answers[item.key] = draw(st.integers(item.minimum, item.maximum))
            continue
        options = instrument.options_of(item)
        if item.type == "multiple":
            exclusive = [o.value for o in options if o.exclusive]
            others = [o.value for o in options if not o.exclusive]
            if exclusive and draw(st.booleans()):
                answers[item.key] = [draw(st.sampled_from(exclusive))]
            else:
                answers[item.key] = sorted(draw(st.sets(st.sampled_from(others), min_size=1)))
            continue
        answers[item.key] = draw(st.sampled_from([o.value for o in options]))
    return answers


@pytest.mark.parametrize("key", INSTRUMENTS)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_a_complete_response_scores_within_range_in_one_band_whatever_the_order(key: str, data: Any) -> None:
    instrument = catalogue()[key]
    answers = data.draw(complete_response(instrument))
    result = instrument.score(answers)
    assert result.missing == []
    for scale_result in result.scales:
        scale = instrument.scale(scale_result.key)
        low, high = instrument.score_range(scale)
        assert scale_result.score is not None, scale_result.unscored
        assert low <= scale_result.score <= high
        assert sum(1 for b in scale.bands if b.min <= scale_result.score <= b.max) == 1
    shuffled = dict(data.draw(st.permutations(list(answers.items()))))
    again = instrument.score(shuffled)
    assert again.as_json() == result.as_json()
    assert [i.key for i in instrument.asked(shuffled)] == [i.key for i in instrument.asked(answers)]
