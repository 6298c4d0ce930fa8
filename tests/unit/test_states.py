"""The state machine alone: every allowed move, and refusals with their reasons."""

from __future__ import annotations

import contextlib

import pytest

from organiser.domain.states import (
    Action,
    InvalidTransition,
    State,
    Step,
    imported,
    outcome_of,
    pass_states,
    transition,
)

S, A = State, Action


@pytest.mark.parametrize(
    ("current", "action", "expected"),
    [
        (None, A.MARK_RESERVE, Step(S.TO_BE_RESERVED, None)),
        (S.TO_BE_RESERVED, A.RESERVED, Step(S.RESERVED, None)),
        (S.RESERVED, A.MARK_REGISTER, Step(S.TO_BE_REGISTERED, None)),
        (S.TO_BE_RESERVED, A.MARK_REGISTER, Step(S.TO_BE_REGISTERED, None)),
        (S.TO_BE_REGISTERED, A.REGISTERED, Step(S.REGISTERED, None)),
        (S.RESERVED, A.MARK_UPDATE, Step(S.UPDATE_RESERVED, S.RESERVED)),
        (S.REGISTERED, A.MARK_UPDATE, Step(S.UPDATE_REGISTERED, S.REGISTERED)),
        (S.TO_BE_REGISTERED, A.MARK_UPDATE, Step(S.UPDATE_BEFORE_REGISTRATION, S.TO_BE_REGISTERED)),
        (
            S.UPDATE_RESERVED,
            A.MARK_REGISTER,
            Step(S.UPDATE_BEFORE_REGISTRATION, S.TO_BE_REGISTERED),
        ),
        (S.UPDATE_RESERVED, A.UPDATED, Step(S.RESERVED, None)),
        (S.UPDATE_REGISTERED, A.UPDATED, Step(S.REGISTERED, None)),
        (S.UPDATE_BEFORE_REGISTRATION, A.UPDATED, Step(S.TO_BE_REGISTERED, None)),
        (S.TO_BE_RESERVED, A.MARK_UPDATE, Step(S.TO_BE_RESERVED, None)),
        (S.REGISTERED, A.MARK_DELETE, Step(S.TO_BE_DELETED, S.REGISTERED)),
        (S.UPDATE_RESERVED, A.MARK_DELETE, Step(S.TO_BE_DELETED, S.UPDATE_RESERVED)),
        (S.TO_BE_DELETED, A.DELETED, Step(S.DELETED, None)),
    ],
)
def test_allowed_moves(current: State | None, action: Action, expected: Step) -> None:
    assert transition(current, action) == expected


def test_marking_delete_twice_keeps_where_it_came_from() -> None:
    assert transition(S.TO_BE_DELETED, A.MARK_DELETE, S.REGISTERED) == Step(
        S.TO_BE_DELETED, S.REGISTERED
    )


@pytest.mark.parametrize(
    ("current", "action", "reason"),
    [
        (S.DELETED, A.MARK_REGISTER, "is deleted and cannot be registered"),
        (S.REGISTERED, A.MARK_REGISTER, "is already registered"),
        (S.DELETED, A.MARK_DELETE, "is already deleted"),
        (S.TO_BE_DELETED, A.MARK_UPDATE, "is marked for deletion and cannot be updated"),
        (None, A.MARK_DELETE, "does not exist"),
        (S.RESERVED, A.MARK_RESERVE, "already exists (status reserved)"),
        (S.RESERVED, A.REGISTERED, "is reserved, not in a state that registered applies to"),
        (S.REGISTERED, A.RESERVED, "is registered, not in a state that reserved applies to"),
    ],
)
def test_refused_moves(current: State | None, action: Action, reason: str) -> None:
    with pytest.raises(InvalidTransition) as raised:
        transition(current, action)
    assert str(raised.value) == reason


def test_every_state_can_be_left_or_is_final() -> None:
    reachable = {S.TO_BE_RESERVED}
    for _ in range(5):
        for state in list(reachable):
            for action in Action:
                with contextlib.suppress(InvalidTransition):
                    reachable.add(transition(state, action, S.RESERVED).state)
    assert reachable == set(State)
    assert pass_states(A.UPDATED) == {
        S.UPDATE_RESERVED,
        S.UPDATE_REGISTERED,
        S.UPDATE_BEFORE_REGISTRATION,
    }


@pytest.mark.parametrize(
    ("action", "current", "remote", "outcome", "lands"),
    [
        (A.RESERVED, S.TO_BE_RESERVED, "draft", A.RESERVED, S.RESERVED),
        (A.RESERVED, S.TO_BE_RESERVED, "findable", A.ADOPTED, S.REGISTERED),
        (A.UPDATED, S.UPDATE_RESERVED, "findable", A.ADOPTED, S.REGISTERED),
        (A.UPDATED, S.UPDATE_REGISTERED, "findable", A.UPDATED, S.REGISTERED),
        (A.UPDATED, S.UPDATE_BEFORE_REGISTRATION, "findable", A.UPDATED, S.TO_BE_REGISTERED),
        (A.REGISTERED, S.TO_BE_REGISTERED, "findable", A.REGISTERED, S.REGISTERED),
    ],
)
def test_a_findable_answer_to_a_draft_s_pass_adopts_it(
    action: Action, current: State, remote: str, outcome: Action, lands: State
) -> None:
    assert outcome_of(action, current, remote) is outcome
    assert transition(current, outcome, S.RESERVED).state is lands


@pytest.mark.parametrize(
    ("current", "remote", "lands"),
    [
        (None, "draft", S.RESERVED),
        (None, "findable", S.REGISTERED),
        (None, "registered", S.DELETED),  # hidden: what organiser's own delete leaves
        (S.RESERVED, "findable", S.REGISTERED),
    ],
)
def test_imported_status_follows_datacite(current: State | None, remote: str, lands: State) -> None:
    assert imported(current, remote) == Step(lands, None)


@pytest.mark.parametrize(
    ("current", "remote", "reason"),
    [
        (S.TO_BE_RESERVED, "draft", "is to-be-reserved: waiting for a pass, left as it is"),
        (
            S.UPDATE_REGISTERED,
            "findable",
            "is update-registered: waiting for a pass, left as it is",
        ),
        (None, "tombstoned", "has an unknown DataCite state 'tombstoned'"),
        (S.DELETED, "findable", "is deleted (final): left as it is"),
    ],
)
def test_import_leaves_queued_records_alone(
    current: State | None, remote: str, reason: str
) -> None:
    with pytest.raises(InvalidTransition) as raised:
        imported(current, remote)
    assert str(raised.value) == reason


def test_a_missing_doi_is_sent_again_by_its_pass() -> None:
    assert transition(S.RESERVED, A.MARK_RECREATE) == Step(S.TO_BE_RESERVED, None)
    assert transition(S.REGISTERED, A.MARK_RECREATE) == Step(S.TO_BE_REGISTERED, None)
    with pytest.raises(InvalidTransition):
        transition(S.DELETED, A.MARK_RECREATE)
    with pytest.raises(InvalidTransition):
        transition(S.RESERVED, A.IMPORTED)  # imported() decides, not a table


# --- review before release ---


@pytest.mark.parametrize(
    ("current", "action", "expected"),
    [
        (S.RESERVED, A.MARK_SUBMIT, Step(S.REVIEW, None)),
        (S.REVIEW, A.MARK_SUBMIT, Step(S.REVIEW, None)),  # again: nothing changes
        (S.REVIEW, A.MARK_REGISTER, Step(S.TO_BE_REGISTERED, None)),  # approved
        (S.REVIEW, A.MARK_REJECT, Step(S.RESERVED, None)),
        (S.REVIEW, A.MARK_UPDATE, Step(S.UPDATE_RESERVED, S.RESERVED)),  # leaves review
        (S.REVIEW, A.MARK_DELETE, Step(S.TO_BE_DELETED, S.REVIEW)),
        (S.REVIEW, A.MARK_RECREATE, Step(S.TO_BE_RESERVED, None)),  # its draft vanished
    ],
)
def test_review_moves(current: State, action: Action, expected: Step) -> None:
    assert transition(current, action) == expected


@pytest.mark.parametrize(
    ("current", "action", "reason"),
    [
        (
            S.TO_BE_RESERVED,
            A.MARK_SUBMIT,
            "is not reserved yet; run the reserve pass (organiser -s) first, then submit it",
        ),
        (
            S.UPDATE_RESERVED,
            A.MARK_SUBMIT,
            "has new metadata waiting for the update pass (organiser -u); submit it after that",
        ),
        (S.TO_BE_REGISTERED, A.MARK_SUBMIT, "is already approved for registration"),
        (S.REGISTERED, A.MARK_SUBMIT, "is already registered"),
        (S.TO_BE_DELETED, A.MARK_SUBMIT, "is marked for deletion and cannot be submitted"),
        (S.DELETED, A.MARK_SUBMIT, "is deleted and cannot be submitted"),
        (S.RESERVED, A.MARK_REJECT, "is reserved, not in review"),
        (S.TO_BE_REGISTERED, A.MARK_REJECT, "is to-be-registered, not in review"),
    ],
)
def test_refused_review_moves(current: State, action: Action, reason: str) -> None:
    with pytest.raises(InvalidTransition) as raised:
        transition(current, action)
    assert str(raised.value) == reason


def test_every_state_but_reserved_and_review_refuses_submit_with_its_own_reason() -> None:
    for state in set(State) - {S.RESERVED, S.REVIEW}:
        with pytest.raises(InvalidTransition) as raised:
            transition(state, A.MARK_SUBMIT)
        assert "not in a state that" not in str(raised.value), state


def test_no_pass_works_on_a_record_in_review() -> None:
    for outcome in (A.RESERVED, A.REGISTERED, A.UPDATED, A.DELETED, A.ADOPTED):
        assert S.REVIEW not in pass_states(outcome)


def test_an_import_leaves_a_draft_in_review() -> None:
    assert imported(S.REVIEW, "draft") == Step(S.REVIEW, None)
    assert imported(S.REVIEW, "findable") == Step(S.REGISTERED, None)


def test_each_settled_status_stands_for_the_datacite_state_an_import_reads_back() -> None:
    from organiser.domain.states import DATACITE_STATES, SETTLED_REMOTE, SETTLED_STATES

    assert set(SETTLED_REMOTE) == SETTLED_STATES
    assert set(SETTLED_REMOTE.values()) == set(DATACITE_STATES)
    for status, remote in SETTLED_REMOTE.items():
        if status is not S.DELETED:  # deleted is final: an import leaves it as it is
            assert imported(status, remote) == Step(status, None), status
    assert SETTLED_REMOTE[S.REVIEW] == "draft" and SETTLED_REMOTE[S.DELETED] == "registered"
