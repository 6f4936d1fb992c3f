"""cancel_and_wait: the task ends, its failure is raised, and a cancelled caller stays cancelled."""

from __future__ import annotations

import asyncio

import pytest

from bot.cancel import cancel_and_wait


async def test_the_task_is_cancelled_and_waited_for() -> None:
    ended: list[str] = []

    async def work() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            await asyncio.sleep(0)  # a clean-up that takes a turn of the loop
            ended.append("clean")

    task = asyncio.create_task(work())
    await asyncio.sleep(0)
    await cancel_and_wait(task)
    assert task.cancelled() and ended == ["clean"]
    await cancel_and_wait(None)  # nothing to stop


async def test_a_failure_of_the_task_is_the_callers() -> None:
    async def broken() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            raise RuntimeError("clean-up failed")

    task = asyncio.create_task(broken())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="clean-up failed"):
        await cancel_and_wait(task)


async def test_a_caller_cancelled_while_it_waits_stays_cancelled() -> None:
    finish = asyncio.Event()

    async def slow_to_end() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            await finish.wait()

    task = asyncio.create_task(slow_to_end())
    await asyncio.sleep(0)
    after: list[str] = []

    async def caller() -> None:
        await cancel_and_wait(task)
        after.append("carried on")  # what `suppress(CancelledError): await task` allowed

    calling = asyncio.create_task(caller())
    await asyncio.sleep(0.01)
    calling.cancel()
    finish.set()
    with pytest.raises(asyncio.CancelledError):
        await calling
    assert after == []
    await asyncio.wait({task})
    assert task.cancelled()
