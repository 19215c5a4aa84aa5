"""The job state machine: forward only, one terminal state, cancel until delivery."""

from __future__ import annotations

import itertools
import time

from core.domain.jobs import (
    ACTIVE,
    CANCELABLE,
    TERMINAL,
    TRANSITIONS,
    JobState,
    can_move,
    hold_key,
    new_job_id,
    sources_of,
)

FORWARD = [
    JobState.QUEUED,
    JobState.SUBMITTED,
    JobState.RUNNING,
    JobState.DELIVERING,
    JobState.SUCCEEDED,
]


def test_the_happy_path_moves_forward_one_step_at_a_time():
    for source, target in itertools.pairwise(FORWARD):
        assert can_move(source, target)
    for index, source in enumerate(FORWARD):
        for target in FORWARD[index + 2 :]:
            assert not can_move(source, target), (source, target)


def test_finished_jobs_never_move_again_and_only_delivery_leads_to_success():
    for state in TERMINAL:
        assert state.finished and not any(can_move(state, target) for target in JobState)
    assert sources_of(JobState.SUCCEEDED) == {JobState.DELIVERING}


def test_every_unfinished_state_can_fail_or_expire_and_cancel_stops_at_delivery():
    for state in set(JobState) - TERMINAL:
        assert can_move(state, JobState.FAILED) and can_move(state, JobState.EXPIRED)
    assert sources_of(JobState.CANCELED) == CANCELABLE == {JobState.QUEUED, JobState.SUBMITTED, JobState.RUNNING}
    assert not can_move(JobState.DELIVERING, JobState.CANCELED)


def test_only_started_jobs_take_a_worker_slot():
    assert ACTIVE == {JobState.SUBMITTED, JobState.RUNNING, JobState.DELIVERING}
    assert all(s.active for s in ACTIVE) and not JobState.QUEUED.active
    assert set(TRANSITIONS) == set(JobState) - TERMINAL


def test_the_hold_key_comes_from_the_job():
    assert hold_key("abc123") == "hold:abc123"


def test_job_ids_sort_in_the_order_they_were_made_and_never_repeat():
    made = []
    for _ in range(5):
        made += [new_job_id() for _ in range(200)]
        time.sleep(0.002)  # the next ids fall in a later millisecond
    assert len(set(made)) == len(made)
    firsts = made[::200]  # one id from each round: their milliseconds differ
    assert firsts == sorted(firsts)
    assert sorted(made, key=lambda job_id: job_id[:11]) == made  # within a millisecond, any order
    assert all(len(job_id) == 20 and job_id.isalnum() for job_id in made)  # fits a 32-character column


def test_a_job_button_with_the_longest_owner_and_argument_fits_telegram_callback_data():
    from adapters.chat.actions import Verb, owned

    discord_user_id = "1" * 20  # snowflakes have up to 20 digits
    for verb in Verb:
        owned(verb, discord_user_id, new_job_id(), "120").encode()  # raises when over 64 bytes
