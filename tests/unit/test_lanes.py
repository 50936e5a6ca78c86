import asyncio

import pytest

from profile360.worker.runner import _enqueue


async def test_a_failed_lane_stops_the_producer_of_its_queue_instead_of_blocking_it():
    queue: asyncio.Queue = asyncio.Queue(maxsize=1)
    await queue.put("backlog")

    async def failing_lane():
        raise ValueError("lane broke")
    lane = asyncio.create_task(failing_lane())
    with pytest.raises(ValueError, match="lane broke"):
        await asyncio.wait_for(_enqueue(queue, "next", lane), 5)


async def test_enqueue_waits_for_room_while_the_lane_works():
    queue: asyncio.Queue = asyncio.Queue(maxsize=1)
    await queue.put("first")

    seen = []

    async def lane_work():
        while (item := await queue.get()) is not None:
            seen.append(item)
    lane = asyncio.create_task(lane_work())
    await asyncio.wait_for(_enqueue(queue, "second", lane), 5)
    await queue.put(None)
    await lane
    assert seen == ["first", "second"]
