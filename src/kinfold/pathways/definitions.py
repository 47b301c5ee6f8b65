"""definitions.py — care pathways as data: the schema of a pathway file, the loader (the project's one loader,
``kinfold.datafiles``), the catalogue of every pathway and version, and the arithmetic of due dates. Pure: it
reads files and the county calendar, never the family tables, and writes nothing.

A pathway (``pathways/data/pathways/<key>.yaml``, or a directory named by ``KINFOLD_PATHWAY_DIRS`` for a
county's or a state's own copy) is the list of steps a team does for a family, each with who is responsible,
what completes it (a form ticked with a note, a referral reaching a status, a screening, a document, a
meeting), the steps it waits for, and when it is due: a number of days (calendar or business days) before or
after an *anchor* — a day in the family's story (the enrolment, a CPS report, the delivery, the discharge…)
or the day another step of the same file was done. A step may recur: its first occurrence is due ``days``
after the anchor, then each part of ``repeat`` adds ``every`` days to the previous occurrence for as long as
the occurrence stays within ``until`` days of the anchor (``[{every: 7, until: 60}, {every: 30, until: 365}]``
from day 7: days 7, 14 … 56, then 86, 116 … 356).

Files are versioned: a family stays on the version of the pathway it was enrolled in (the enrolment keeps
``Pathway.as_json()``; ``Pathway.from_json`` reads it back without re-checking the vocabulary of today, so a
snapshot stays readable after an instrument or a kind is retired). A county's copy names the pathway and
version it ``adapts`` and its ``county``, and loads beside the original.

Every mistake in a file is refused with the file, the line and the field named, in plain words: an unknown
anchor, a step that waits for a step the file does not have, steps that wait for each other in a circle, a
role, instrument, need, organisation type or kind of information Kinfold does not know.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import yaml
from django.conf import settings
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from kinfold.datafiles import DataFileError, line_of, load_data_file
from kinfold.screening.instruments import Text

if TYPE_CHECKING:
    from kinfold.referrals.deadlines import _Calendar

__all__ = [
    "ANCHORS",
    "BUILT_IN_DIR",
    "COMPLETION_TYPES",
    "REFERRAL_PROGRESS",
    "CompletedBy",
    "DueRule",
    "Pathway",
    "PathwayFileError",
    "RepeatSegment",
    "Step",
    "Text",
    "catalogue",
    "check_pathway_files",
    "due_dates",
    "latest",
    "load_pathway_file",
    "order",
    "pathway",
    "pathway_dirs",
    "referral_reached",
]

BUILT_IN_DIR = Path(__file__).parent / "data" / "pathways"

# The days of a family's story a step can be counted from (besides ``step:<key>``, the day another step was done).
ANCHORS: tuple[str, ...] = (
    "enrolment",
    "cps_report",
    "screened_in",
    "investigation",
    "case_opened",
    "safety_plan",
    "removal",
    "reunification",
    "case_closed",
    "estimated_due_date",
    "delivery",
    "discharge",
)
STEP_ANCHOR = "step:"
COMPLETION_TYPES: tuple[str, ...] = ("form", "referral", "screening", "document", "meeting")
DOCUMENTS: tuple[str, ...] = ("plan_of_safe_care",)
MEETINGS: tuple[str, ...] = ("shared_decision_making",)

# The statuses a referral moves forward through (``referrals.models.ReferralStatus`` values, FHIR Task's words: a
# sent referral is "requested"). A referral step is done when a referral for one of its needs has reached its
# status or a later one. "on-hold" is no step forward (a referral can be put on hold before or after it began),
# and the closing statuses "rejected", "failed" and "cancelled" reach nothing.
REFERRAL_PROGRESS: tuple[str, ...] = ("requested", "received", "accepted", "in-progress", "completed")

# Kinds of information being added to access/data/kinds.yaml with the pathways app; accepted before they land.
PATHWAY_KINDS = frozenset({"child_welfare_case", "care_pathway", "plan_of_safe_care"})

MAX_OCCURRENCES = 366  # a step recurring more often than daily for a year is a mistake in the file
MAX_DAYS = 3660  # ten years either side of an anchor
TITLE_LENGTH = 200  # the column a step's and an enrolment's title is kept in

_STEP_KEY = r"^[a-z][a-z0-9_]*$"
_PATHWAY_KEY = r"^[a-z0-9_]+$"
_SNAPSHOT = "pathway_snapshot"  # validation context: reading a stored snapshot, not a file


class PathwayFileError(DataFileError):
    """A pathway file that cannot be read or does not follow the schema (file, line and field named)."""


def _plain(message: str) -> PydanticCustomError:
    """An error whose words are shown as they are (no "Value error," before them)."""
    return PydanticCustomError("pathway", "{message}", {"message": message})


def _refuse(title: str, problems: list[tuple[tuple[str | int, ...], str, Any]]) -> ValidationError:
    """One ValidationError naming each problem's own field (its location below the model being validated)."""
    return ValidationError.from_exception_data(
        title,
        [InitErrorDetails(type=_plain(message), loc=loc, input=value) for loc, message, value in problems],
    )


def _checks_vocabulary(info: ValidationInfo) -> bool:
    """Whether to check the names a file uses against Kinfold's vocabulary (a stored snapshot is not re-checked)."""
    return not (isinstance(info.context, dict) and info.context.get(_SNAPSHOT))


def _one_of(values: Iterable[str]) -> str:
    return ", ".join(f"`{v}`" for v in values)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


NonEmpty = Annotated[str, Field(min_length=1)]


class RepeatSegment(_Strict):
    """One part of a recurrence: an occurrence every ``every`` days while within ``until`` days of the anchor."""

    every: int = Field(strict=True, ge=1, le=MAX_DAYS)
    until: int = Field(strict=True, ge=-MAX_DAYS, le=MAX_DAYS)


class DueRule(_Strict):
    """When a step (its first occurrence) is due: ``days`` after the anchor ``from`` (negative: before it);
    ``working``: count business days of the county's calendar instead of calendar days."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    anchor: str = Field(alias="from")
    days: int = Field(strict=True, ge=-MAX_DAYS, le=MAX_DAYS)
    working: bool = Field(default=False, strict=True)

    @field_validator("anchor")
    @classmethod
    def _known_anchor(cls, value: str) -> str:
        if value.startswith(STEP_ANCHOR):
            if not re.match(_STEP_KEY, value[len(STEP_ANCHOR) :]):
                raise _plain(f"`{value}`: write `step:` and the key of a step in this file, e.g. `step:intake_screen`")
        elif value not in ANCHORS:
            raise _plain(f"no anchor `{value}`: use one of {_one_of(ANCHORS)}, or `step:<key of a step in this file>`")
        return value

    @property
    def from_(self) -> str:
        return self.anchor

    @property
    def step_key(self) -> str | None:
        """The step whose completion day this counts from, or None for a day of the family's story."""
        return self.anchor[len(STEP_ANCHOR) :] if self.anchor.startswith(STEP_ANCHOR) else None


# What each way of completing a step says besides its `type`.
_FIELDS_OF = {
    "form": frozenset[str](),
    "referral": frozenset({"needs", "status"}),
    "screening": frozenset({"instruments"}),
    "document": frozenset({"document"}),
    "meeting": frozenset({"meeting"}),
}
_OPTIONAL_FIELDS = ("instruments", "needs", "status", "document", "meeting")


class CompletedBy(_Strict):
    """What completes a step. ``form``: a person ticks it done, with a note. ``screening``: a screening with any
    one of ``instruments``. ``referral``: a referral for any one of ``needs`` reaching ``status`` or a later one
    (``REFERRAL_PROGRESS``). ``document``: the document named (a Plan of Safe Care). ``meeting``: the meeting
    named (a shared decision-making conversation)."""

    type: Literal["form", "referral", "screening", "document", "meeting"]
    instruments: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    status: str | None = None
    document: Literal["plan_of_safe_care"] | None = None
    meeting: Literal["shared_decision_making"] | None = None

    @model_validator(mode="after")
    def _shape(self, info: ValidationInfo) -> CompletedBy:
        problems: list[tuple[tuple[str | int, ...], str, Any]] = []
        wanted = _FIELDS_OF[self.type]
        for name in _OPTIONAL_FIELDS:
            if getattr(self, name) not in ((), None) and name not in wanted:
                says = f"says only {_one_of(sorted(wanted))} besides `type`" if wanted else "says nothing but `type`"
                problems.append(((name,), f"a {self.type} step does not use `{name}` (it {says})", getattr(self, name)))
        if self.type == "screening" and not self.instruments:
            problems.append((("instruments",), "a screening step names its instruments, e.g. [epds, phq9]", None))
        if self.type == "referral":
            if not self.needs:
                problems.append((("needs",), "a referral step names the needs a referral may be for", None))
            if self.status is None:
                problems.append(
                    (("status",), f"a referral step names the status that completes it: {_progress()}", None)
                )
            elif self.status not in REFERRAL_PROGRESS:
                problems.append((("status",), _status_problem(self.status), self.status))
        if self.type == "document" and self.document is None:
            problems.append((("document",), f"a document step names its document: {_one_of(DOCUMENTS)}", None))
        if self.type == "meeting" and self.meeting is None:
            problems.append((("meeting",), f"a meeting step names its meeting: {_one_of(MEETINGS)}", None))
        if _checks_vocabulary(info):
            problems.extend(self._vocabulary_problems())
        if problems:
            raise _refuse("CompletedBy", problems)
        return self

    def _vocabulary_problems(self) -> list[tuple[tuple[str | int, ...], str, Any]]:
        from kinfold.directory.models import Need
        from kinfold.screening.instruments import catalogue as instrument_catalogue

        problems: list[tuple[tuple[str | int, ...], str, Any]] = []
        if self.instruments:
            known = instrument_catalogue()
            for i, key in enumerate(self.instruments):
                if key not in known:
                    problems.append(
                        (
                            ("instruments", i),
                            f"no screening instrument `{key}`: use one of {_one_of(sorted(known))}",
                            key,
                        )
                    )
        for i, need in enumerate(self.needs):
            if need not in Need.values:
                problems.append((("needs", i), f"no need `{need}`: use one of {_one_of(Need.values)}", need))
        return problems


def _progress() -> str:
    return " → ".join(f"`{s}`" for s in REFERRAL_PROGRESS)


def _status_problem(status: str) -> str:
    if status == "sent":
        return f"write `requested`: a sent referral's status is `requested` (the statuses, in order: {_progress()})"
    return f"`{status}` is no step forward for a referral: use one of {_progress()}"


class Step(_Strict):
    key: str = Field(pattern=_STEP_KEY, max_length=60)
    title: Text
    help: Text | None = None  # plain words: what the step is and why
    role: str  # organizations.models.Role: who is responsible
    completed_by: CompletedBy
    after: tuple[str, ...] = ()  # steps done (or not applicable) first; a repeating one: its last occurrence
    due: DueRule
    repeat: tuple[RepeatSegment, ...] = ()

    @field_validator("role")
    @classmethod
    def _known_role(cls, value: str, info: ValidationInfo) -> str:
        if _checks_vocabulary(info):
            from kinfold.organizations.models import Role

            if value not in Role.values:
                raise _plain(f"no role `{value}`: use one of {_one_of(Role.values)}")
        return value

    @model_validator(mode="after")
    def _shape(self) -> Step:
        problems: list[tuple[tuple[str | int, ...], str, Any]] = []
        for language in ("en", "es"):
            words = getattr(self.title, language, None) or ""
            if len(words) > TITLE_LENGTH:
                problems.append((("title", language), f"a title has at most {TITLE_LENGTH} characters", words))
        offset, last_until = self.due.days, None
        count = 1
        for i, segment in enumerate(self.repeat):
            if last_until is not None and segment.until <= last_until:
                message = (
                    f"each part of `repeat` goes further than the one before: {segment.until} is not after {last_until}"
                )
                problems.append((("repeat", i, "until"), message, segment.until))
                break
            if offset + segment.every > segment.until:
                message = (
                    f"this part adds no occurrence: the next would be day {offset + segment.every} "
                    f"after the anchor, past `until` ({segment.until})"
                )
                problems.append((("repeat", i), message, segment.until))
                break
            steps = (segment.until - offset) // segment.every
            offset += steps * segment.every
            count += steps
            last_until = segment.until
        if count > MAX_OCCURRENCES:
            message = f"a step recurs at most {MAX_OCCURRENCES} times; this one would recur {count} times"
            problems.append((("repeat",), message, None))
        if problems:
            raise _refuse("Step", problems)
        return self

    @property
    def repeats(self) -> bool:
        return bool(self.repeat)

    @property
    def depends_on(self) -> tuple[str, ...]:
        """The steps that come first: those it waits for (``after``) and the one it is timed from, if any."""
        anchor = self.due.step_key
        return self.after if anchor is None or anchor in self.after else (*self.after, anchor)

    def offsets(self) -> list[int]:
        """The day of each occurrence, counted from the anchor (business days when ``due.working``)."""
        out = [self.due.days]
        for segment in self.repeat:
            while out[-1] + segment.every <= segment.until:
                out.append(out[-1] + segment.every)
        return out


class Pathway(_Strict):
    key: str = Field(pattern=_PATHWAY_KEY, max_length=60)
    version: int = Field(strict=True, ge=1)
    title: Text
    summary: Text  # plain language: what the pathway is for
    sources: tuple[NonEmpty, ...] = Field(min_length=1)
    assumptions: tuple[NonEmpty, ...] = ()  # what the file assumes where its sources are silent
    adapts: str | None = Field(default=None, pattern=r"^[a-z0-9_]+@[1-9][0-9]*$")  # "start@1": a county's copy
    county: str = ""  # the county a copy is for ("" = everywhere)
    enrolled_by: tuple[str, ...] = Field(min_length=1)  # organisation types that may enrol a family
    filing: dict[str, str]  # organisation type -> kind of information its enrolment and steps are filed as
    due_soon_days: int = Field(default=3, strict=True, ge=0, le=30)
    pair_cap: int | None = Field(default=None, strict=True, ge=1)  # START: a caseworker + mentor pair's caseload cap
    steps: tuple[Step, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _references(self, info: ValidationInfo) -> Pathway:
        problems = self._step_problems()
        if not problems:
            problems = self._cycle_problems()
        if self.adapts == self.ref:
            problems.append(
                (("adapts",), "a pathway cannot adapt itself: name the pathway and version it copies", self.adapts)
            )
        for org_type in self.enrolled_by:
            if org_type not in self.filing:
                message = (
                    f"no kind for `{org_type}`, which may enrol families (`enrolled_by`): add `{org_type}: <kind>`"
                )
                problems.append((("filing",), message, None))
        if _checks_vocabulary(info):
            problems.extend(self._vocabulary_problems())
        if problems:
            raise _refuse("Pathway", problems)
        return self

    def _step_problems(self) -> list[tuple[tuple[str | int, ...], str, Any]]:
        problems: list[tuple[tuple[str | int, ...], str, Any]] = []
        first: dict[str, int] = {}
        for i, step in enumerate(self.steps):
            if step.key in first:
                message = (
                    f"two steps are called `{step.key}` (steps {first[step.key] + 1} and {i + 1}): keys are unique"
                )
                problems.append((("steps", i, "key"), message, step.key))
            first.setdefault(step.key, i)
        for i, step in enumerate(self.steps):
            for j, key in enumerate(step.after):
                if key == step.key:
                    problems.append((("steps", i, "after", j), "a step cannot wait for itself", key))
                elif key not in first:
                    problems.append((("steps", i, "after", j), f"no step `{key}` in this file", key))
            anchor = step.due.step_key
            if anchor is None:
                continue
            where: tuple[str | int, ...] = ("steps", i, "due", "from")
            if anchor == step.key:
                problems.append((where, "a step cannot be timed from its own completion", step.due.anchor))
            elif anchor not in first:
                problems.append((where, f"no step `{anchor}` in this file", step.due.anchor))
            elif self.steps[first[anchor]].repeats:
                message = f"`{anchor}` repeats, so it has no one day of completion to count from"
                problems.append((where, message, step.due.anchor))
        return problems

    def _cycle_problems(self) -> list[tuple[tuple[str | int, ...], str, Any]]:
        """Steps that wait for each other round a circle can never start: name the circle once."""
        index = {step.key: i for i, step in enumerate(self.steps)}
        state: dict[str, int] = {}  # 1: being visited, 2: done

        def edge_location(frm: str, to: str) -> tuple[str | int, ...]:
            step = self.steps[index[frm]]
            if to in step.after:
                return ("steps", index[frm], "after", step.after.index(to))
            return ("steps", index[frm], "due", "from")

        for root in self.steps:
            if root.key in state:
                continue
            path: list[str] = [root.key]
            stack = [iter(root.depends_on)]
            state[root.key] = 1
            while stack:
                nxt = next(stack[-1], None)
                if nxt is None:
                    state[path.pop()] = 2
                    stack.pop()
                    continue
                if state.get(nxt) == 1:
                    circle = [*path[path.index(nxt) :], nxt]
                    message = "steps wait for each other in a circle: " + " → ".join(f"`{k}`" for k in circle)
                    return [(edge_location(path[-1], nxt), message, nxt)]
                if nxt not in state:
                    state[nxt] = 1
                    path.append(nxt)
                    stack.append(iter(self.steps[index[nxt]].depends_on))
        return []

    def _vocabulary_problems(self) -> list[tuple[tuple[str | int, ...], str, Any]]:
        from kinfold.access.vocabulary import kind_of
        from kinfold.organizations.models import OrganizationType

        problems: list[tuple[tuple[str | int, ...], str, Any]] = []
        types = OrganizationType.values
        for i, org_type in enumerate(self.enrolled_by):
            if org_type not in types:
                problems.append(
                    (("enrolled_by", i), f"no organisation type `{org_type}`: use one of {_one_of(types)}", org_type)
                )
        for org_type, kind in self.filing.items():
            if org_type not in types:
                problems.append(
                    (("filing", org_type), f"no organisation type `{org_type}`: use one of {_one_of(types)}", org_type)
                )
            elif kind not in PATHWAY_KINDS and kind_of(kind) is None:
                message = f"no kind of information `{kind}` (access/data/kinds.yaml)"
                problems.append((("filing", org_type), message, kind))
        return problems

    # --- reading it ---------------------------------------------------------------------------------------------
    @property
    def ref(self) -> str:
        """``key@version``, as ``adapts`` names a pathway."""
        return f"{self.key}@{self.version}"

    @property
    def adapts_ref(self) -> tuple[str, int] | None:
        """The (key, version) this file is a copy of, or None."""
        if self.adapts is None:
            return None
        key, _, version = self.adapts.partition("@")
        return key, int(version)

    def step(self, key: str) -> Step:
        for step in self.steps:
            if step.key == key:
                return step
        raise KeyError(f"pathway {self.ref} has no step {key!r}")

    def kind_for(self, organization_type: str) -> str | None:
        """The kind of information an enrolment by an organisation of this type, and its steps, are filed as."""
        return self.filing.get(organization_type)

    def due_soon(self, due: date, today: date) -> bool:
        """Whether a step due on ``due`` is "due soon" on ``today`` (within ``due_soon_days`` before it, not past)."""
        return due - timedelta(days=self.due_soon_days) <= today <= due

    def as_json(self) -> dict[str, Any]:
        """The whole pathway as plain JSON (what an enrolment keeps, so the family stays on this version)."""
        return self.model_dump(mode="json", by_alias=True)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Pathway:
        """A pathway from ``as_json()``. The names it uses are not checked against today's vocabulary."""
        try:
            return cls.model_validate(dict(data), context={_SNAPSHOT: True})
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors())
            raise PathwayFileError(f"a stored pathway does not follow the schema: {problems}") from exc


# --- the catalogue -----------------------------------------------------------------------------------------------
def load_pathway_file(path: Path | str) -> Pathway:
    """One pathway file, validated; errors name the file, line and field."""
    return load_data_file(Path(path), Pathway, what="a pathway file", error=PathwayFileError)


def pathway_dirs() -> list[Path]:
    extra = getattr(settings, "KINFOLD_PATHWAY_DIRS", [])
    return [BUILT_IN_DIR, *(Path(p) for p in extra)]


def _line(path: Path, loc: tuple[str | int, ...]) -> int | None:
    try:
        return line_of(yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader), loc)
    except (OSError, yaml.YAMLError):
        return None


@cache
def catalogue() -> dict[tuple[str, int], Pathway]:
    """Every pathway, by (key, version): Kinfold's own, then each file in each ``KINFOLD_PATHWAY_DIRS`` directory.
    Two files with the same key and version, or a copy that ``adapts`` a pathway not in the catalogue, are refused."""
    found: dict[tuple[str, int], Pathway] = {}
    where: dict[tuple[str, int], Path] = {}
    for directory in pathway_dirs():
        if not directory.is_dir():
            raise PathwayFileError(f"{directory}: KINFOLD_PATHWAY_DIRS names a directory that does not exist")
        for path in sorted(directory.glob("*.yaml")):
            loaded = load_pathway_file(path)
            ident = (loaded.key, loaded.version)
            if ident in found:
                raise PathwayFileError(
                    f"{path}: line {_line(path, ('version',))}, version: `{loaded.key}` version {loaded.version} is "
                    f"already defined in {where[ident]}; give this file a new version or a new key"
                )
            found[ident] = loaded
            where[ident] = path
    for ident, loaded in found.items():
        target = loaded.adapts_ref
        if target is not None and target not in found:
            known = ", ".join(f"{k}@{v}" for k, v in sorted(found))
            raise PathwayFileError(
                f"{where[ident]}: line {_line(where[ident], ('adapts',))}, adapts: no pathway `{loaded.adapts}` "
                f"to adapt (the pathways are: {known})"
            )
    return found


def latest(key: str) -> Pathway:
    """The highest version of pathway ``key``."""
    versions = [p for (k, _), p in catalogue().items() if k == key]
    if not versions:
        raise KeyError(f"No pathway {key!r}.")
    return max(versions, key=lambda p: p.version)


def pathway(key: str, version: int) -> Pathway:
    try:
        return catalogue()[(key, version)]
    except KeyError:
        raise KeyError(f"No pathway {key!r} version {version}.") from None


def check_pathway_files(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """A Django system check: every pathway file loads (Kinfold's and a county's own), so a bad file stops the
    server at start, naming the file, line and field, instead of failing an enrolment later."""
    from django.core import checks

    catalogue.cache_clear()
    try:
        catalogue()
    except DataFileError as error:
        return [checks.Error(str(error), id="pathways.E001")]
    return []


# --- due dates -------------------------------------------------------------------------------------------------
def due_dates(step: Step, anchors: Mapping[str, date | None], *, county: str = "") -> list[date] | None:
    """The day each occurrence of ``step`` is due (one for a step that does not repeat), or None while its anchor
    is not known. ``anchors`` maps an anchor (``ANCHORS``, or ``step:<key>`` for the day a step was done) to its day.

    Calendar days: the anchor plus the offset. Working days (``due.working``): the offset-th business day after
    the anchor (before it, for a negative offset), on ``county``'s calendar: weekends, US federal holidays (their
    observed days) and the county's own holidays are skipped. An offset of 0 is the anchor's own day."""
    start = anchors.get(step.due.anchor)
    if start is None:
        return None
    offsets = step.offsets()
    if not step.due.working:
        return [start + timedelta(days=offset) for offset in offsets]
    from kinfold.referrals.deadlines import _Calendar

    calendar = _Calendar(county)
    out: list[date] = []
    reached, day = 0, start  # walking forward once: the n-th business day after the anchor, for rising n
    for offset in offsets:
        if offset < 0:
            out.append(_business_days_before(calendar, start, -offset))
            continue
        day = calendar.add_business_days(day, offset - reached)
        reached = offset
        out.append(day)
    return out


def _business_days_before(calendar: _Calendar, day: date, n: int) -> date:
    """The ``n``-th business day before ``day`` (``day`` itself does not count)."""
    for _ in range(n):
        day -= timedelta(days=1)
        while not calendar.is_business_day(day):
            day -= timedelta(days=1)
    return day


def order(pathway: Pathway) -> list[Step]:
    """The steps in an order where each comes after the steps it waits for and the step it is timed from; among
    the steps ready at once, the file's own order."""
    done: set[str] = set()
    remaining = list(pathway.steps)
    out: list[Step] = []
    while remaining:
        ready = next((s for s in remaining if all(d in done for d in s.depends_on)), None)
        if ready is None:  # a validated pathway has no circle; a hand-built one may
            raise PathwayFileError(f"pathway {pathway.ref}: steps wait for each other in a circle")
        remaining.remove(ready)
        done.add(ready.key)
        out.append(ready)
    return out


def referral_reached(target: str, statuses: Iterable[str]) -> bool:
    """Whether a referral that has had each of ``statuses`` (its history) has reached ``target`` or a later step
    of ``REFERRAL_PROGRESS`` — what completes a ``referral`` step."""
    rank = REFERRAL_PROGRESS.index(target)
    return any(s in REFERRAL_PROGRESS and REFERRAL_PROGRESS.index(s) >= rank for s in statuses)
