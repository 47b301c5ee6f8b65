"""An organisation's own instrument file (issue 13: "an organisation holding a licence for another adds it as a
file"): it loads from ``KINFOLD_SCREENING_INSTRUMENT_DIRS``, is offered only to the organisations it names, and
scores like a shipped one; a file with a mistake is refused at start with its file, line and field named."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kinfold.screening.apps import check_instrument_files
from kinfold.screening.instruments import InstrumentFileError, catalogue, load_instrument, offered_to

LICENSED = """\
# A made-up licensed questionnaire, for the test only.
key: licensed_demo
version: "1"
title: {en: "A licensed questionnaire"}
short_title: LQ
measures: {en: "substance use in pregnancy"}
citation: "Invented for a test."
licence: "Licensed to Harbor Women's Health."
licensed_to: ["Harbor Women's Health"]
option_sets:
  yes_no:
    - {value: 0, label: {en: "No"}}
    - {value: 1, label: {en: "Yes"}}
items:
  - {key: parents, text: {en: "Did either of your parents have a problem with alcohol or drugs?"}, options: yes_no}
  - {key: partner, text: {en: "Does your partner have a problem with alcohol or drugs?"}, options: yes_no}
scales:
  - key: total
    title: {en: "Yes answers"}
    items: [parents, partner]
    method: count
    count_values: [1]
    bands:
      - {min: 0, max: 0, label: {en: "Negative"}}
      - {min: 1, max: 2, label: {en: "Positive"}, positive: true, needs: [sud_treatment]}
filing:
  default: substance_use_screen
"""


@pytest.fixture
def own_dir(tmp_path: Path, settings: object) -> Iterator[Path]:
    settings.KINFOLD_SCREENING_INSTRUMENT_DIRS = [str(tmp_path)]  # type: ignore[attr-defined]
    catalogue.cache_clear()
    yield tmp_path
    catalogue.cache_clear()


def test_an_organisations_licensed_file_is_offered_only_to_it_and_scores(own_dir: Path) -> None:
    (own_dir / "licensed_demo.yaml").write_text(LICENSED, encoding="utf-8")
    assert "licensed_demo" in catalogue() and "phq9" in catalogue()
    assert "licensed_demo" in [i.key for i in offered_to("Harbor Women's Health", age=30)]
    assert "licensed_demo" not in [i.key for i in offered_to("Bridges Family Resource Center", age=30)]
    result = catalogue()["licensed_demo"].score({"parents": 1, "partner": 0})
    assert result.scales[0].score == 1 and result.positive and result.needs == ["sud_treatment"]
    assert check_instrument_files() == []


def test_a_mistake_names_the_file_line_and_field(own_dir: Path) -> None:
    bad = LICENSED.replace("method: count", "method: average")
    path = own_dir / "licensed_demo.yaml"
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(InstrumentFileError) as raised:
        load_instrument(path)
    message = str(raised.value)
    assert str(path) in message and "line 21" in message and "scales.0.method" in message
    problems = check_instrument_files()
    assert len(problems) == 1 and problems[0].id == "screening.E001" and str(path) in problems[0].msg


def test_a_file_naming_a_kind_or_need_that_does_not_exist_is_refused(own_dir: Path) -> None:
    path = own_dir / "licensed_demo.yaml"
    path.write_text(LICENSED.replace("[sud_treatment]", "[rehab]").replace("substance_use_screen", "x"), "utf-8")
    with pytest.raises(InstrumentFileError) as raised:
        load_instrument(path)
    assert "no kind of information 'x'" in str(raised.value) and "no need 'rehab'" in str(raised.value)


def test_an_organisations_file_cannot_take_a_shipped_key(own_dir: Path) -> None:
    (own_dir / "mine.yaml").write_text(LICENSED.replace("key: licensed_demo", "key: phq9"), encoding="utf-8")
    with pytest.raises(InstrumentFileError, match="already used"):
        catalogue()
