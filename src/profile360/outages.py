"""What counts as a dependency being away, and how a loop rides it out.

An error is an *outage* when PostgreSQL or Kafka is unreachable, restarting or shutting down,
or when a connection broke under the caller: the same step succeeds once the service is back
(on a fresh connection). Everything else (a bug, bad data, a query cancelled by its timeout) is
not an outage and is never retried here.

``riding_out`` is the one retry loop of the processes: it repeats a step with exponential
backoff for as long as an outage lasts, logging each failure, and gives up only when told to
stop. Only errors that are not outages end a process.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, TypeVar

import asyncpg
from aiokafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError

log = logging.getLogger(__name__)
T = TypeVar("T")

_DATABASE = (OSError, asyncio.TimeoutError, asyncpg.PostgresConnectionError,
             asyncpg.exceptions.OperatorInterventionError, asyncpg.exceptions.TooManyConnectionsError)
# asyncpg's errors for a connection that broke under the caller, an outage only when caused by
# one, when the connection is closed, or when the protocol was left consuming an error (state
# 2): a server that shuts down sends "terminating connection" to its idle sessions, and a pooled
# connection that received it fails its next query with "cannot switch to state 12; another
# operation (2) is in progress" before its socket is seen closed
_BROKEN = (asyncpg.InterfaceError, asyncpg.exceptions.InternalClientError)
_BROKEN_SIGNS = ("closed", "another operation (2)")
BACKOFF_START, BACKOFF_MAX = 0.2, 5.0


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    while exc is not None and exc not in seen and len(seen) < 10:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


def database_down(exc: BaseException) -> bool:
    """Whether ``exc`` means PostgreSQL is away or the connection broke (not a query error)."""
    for e in _chain(exc):
        if isinstance(e, asyncpg.exceptions.QueryCanceledError):
            return False
        if isinstance(e, _DATABASE) or (isinstance(e, _BROKEN) and any(sign in str(e) for sign in _BROKEN_SIGNS)):
            return True
    return False


def kafka_down(exc: BaseException) -> bool:
    """Whether ``exc`` means the Kafka cluster is unreachable or not ready."""
    return isinstance(exc, (KafkaConnectionError, KafkaTimeoutError)) or \
        (isinstance(exc, KafkaError) and bool(getattr(exc, "retriable", False)))


def outage(exc: BaseException) -> bool:
    return database_down(exc) or kafka_down(exc)


def describe(exc: BaseException) -> str:
    """``Type: message`` of the outage's root cause (a timeout's message is empty); asyncpg's
    protocol errors are named for what they mean."""
    root = next((e for e in reversed(_chain(exc)) if outage(e)), exc)
    text = f"{type(root).__name__}: {str(root) or 'no answer in time'}"
    return f"the server ended the connection ({text})" if isinstance(root, _BROKEN) else text


async def riding_out(step: Callable[..., Awaitable[T]], *args: Any, what: str = "",
                     stopping: asyncio.Event | None = None,
                     also: Callable[[BaseException], bool] = lambda exc: False, **kwargs: Any) -> T:
    """``await step(*args, **kwargs)`` until it succeeds. Outages (and errors ``also`` accepts) are
    logged and retried after 0.2 s, doubling up to 5 s, for as long as they last; any other
    error propagates at once, and so does an outage once ``stopping`` is set."""
    delay = BACKOFF_START
    while True:
        try:
            return await step(*args, **kwargs)
        except Exception as exc:
            if not (outage(exc) or also(exc)) or (stopping is not None and stopping.is_set()):
                raise
            log.warning("%s failed (%s); retrying in %.1fs", what or getattr(step, "__name__", "step"),
                        describe(exc), delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_MAX)
