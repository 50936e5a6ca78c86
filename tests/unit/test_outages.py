"""Which errors are outages, how ``riding_out`` retries them, and the stall rule of /readyz."""
from __future__ import annotations

import asyncio

import asyncpg
import pytest
from aiokafka.errors import KafkaConnectionError, UnknownTopicOrPartitionError

from profile360 import outages
from profile360.outages import database_down, describe, kafka_down, riding_out
from profile360.worker import progress


def raised_during(error: BaseException, first: BaseException) -> BaseException:
    """``error`` as raised while handling ``first`` (its ``__context__``)."""
    try:
        try:
            raise first
        except BaseException:
            raise error
    except BaseException as exc:
        return exc


@pytest.mark.parametrize("exc", [
    ConnectionRefusedError(111, "Connect call failed"), ConnectionResetError(), asyncio.TimeoutError(),
    asyncpg.exceptions.CannotConnectNowError("the database system is shutting down"),
    asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"),
    asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    asyncpg.InterfaceError("cannot call Transaction.__aexit__(): the underlying connection is closed"),
    # a pooled connection that received the server's "terminating connection" while idle
    asyncpg.exceptions.InternalClientError("cannot switch to state 12; another operation (2) is in progress"),
    # a transaction's ROLLBACK after the server ended the session mid-query
    raised_during(asyncpg.exceptions.InternalClientError("cannot switch to state 12; another operation (2) is in progress"),
                  asyncpg.exceptions.AdminShutdownError("terminating connection")),
])
def test_a_database_that_is_away_or_a_broken_connection_is_an_outage(exc):
    assert database_down(exc) and not kafka_down(exc)


@pytest.mark.parametrize("exc", [
    asyncpg.exceptions.QueryCanceledError("canceling statement due to statement timeout"),
    asyncpg.exceptions.UndefinedTableError("relation does not exist"),
    asyncpg.InterfaceError("cannot perform operation: another operation is in progress"),
    asyncpg.exceptions.InternalClientError("got result for unknown protocol state 0"),
    ValueError("a bug"), KeyError("x"),
])
def test_query_errors_and_bugs_are_not_outages(exc):
    assert not outages.outage(exc)


def test_kafka_outages_are_connection_errors_and_retriable_errors():
    assert kafka_down(KafkaConnectionError("Unable to bootstrap")) and kafka_down(UnknownTopicOrPartitionError())
    assert not database_down(KafkaConnectionError("x"))


def test_describe_names_the_root_cause_even_when_its_message_is_empty():
    assert describe(asyncio.TimeoutError()) == "TimeoutError: no answer in time"
    wrapped = raised_during(ValueError("while rolling back"), asyncpg.exceptions.CannotConnectNowError("shutting down"))
    assert describe(wrapped) == "CannotConnectNowError: shutting down"
    broken = asyncpg.exceptions.InternalClientError("cannot switch to state 12; another operation (2) is in progress")
    assert describe(broken).startswith("the server ended the connection (InternalClientError: cannot switch")


class Flaky:
    def __init__(self, failures: list[BaseException]):
        self.failures, self.calls = list(failures), 0

    async def __call__(self, value: int) -> int:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return value * 2


async def test_riding_out_retries_outages_with_growing_pauses_until_the_step_succeeds(monkeypatch):
    pauses: list[float] = []

    async def no_sleep(seconds: float) -> None:
        pauses.append(seconds)
    monkeypatch.setattr(outages.asyncio, "sleep", no_sleep)
    step = Flaky([ConnectionRefusedError()] * 7)
    assert await riding_out(step, 21) == 42 and step.calls == 8
    assert pauses == [0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0]


async def test_riding_out_gives_up_at_once_on_other_errors_and_once_told_to_stop():
    step = Flaky([ValueError("a bug")])
    with pytest.raises(ValueError):
        await riding_out(step, 1)
    stopping = asyncio.Event()
    stopping.set()
    with pytest.raises(ConnectionRefusedError):
        await riding_out(Flaky([ConnectionRefusedError()]), 1, stopping=stopping)
    step = Flaky([asyncpg.SerializationError("conflict")])
    assert await riding_out(step, 1, also=lambda e: isinstance(e, asyncpg.SerializationError)) == 2


TP = ("t", 0)


def test_a_partition_is_a_stall_suspect_when_records_wait_and_nothing_was_applied_for_a_while():
    now = 1000.0
    assert progress.suspects(now, 60, {TP: (5, now - 61)}, {}, {TP: 9}) == {TP: 5}
    assert progress.suspects(now, 60, {TP: (5, now - 10)}, {}, {TP: 9}) == {}  # applied lately
    assert progress.suspects(now, 60, {TP: (9, now - 600)}, {}, {TP: 9}) == {}  # nothing to apply
    assert progress.suspects(now, 60, {}, {TP: 3}, {TP: 9}) == {TP: 3}  # never applied: from the log start
    assert progress.suspects(now, 60, {TP: (2, now - 600)}, {TP: 9}, {TP: 9}) == {}  # removed from the log


def test_a_suspect_is_stalled_only_when_its_first_record_has_waited_longer_than_the_limit():
    now = 1000.0
    assert progress.stalled(now, 60, {TP: now - 1}) == {}  # just arrived on a quiet partition
    assert progress.stalled(now, 60, {TP: now - 90}) == {TP: 90.0}
