"""cancel_and_wait: the task ends, its failure is raised, and a cancelled caller stays cancelled;
and no module of the bot waits with asyncio.wait_for, which can lose a stop."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

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


def test_no_module_of_the_bot_waits_with_wait_for() -> None:
    # On Python 3.11, wait_for returns a result that arrives as its task is cancelled and
    # drops the cancellation (a WeCom connection stopped as its ack came lived on); waits
    # with a timeout use asyncio.timeout.
    root = Path(__file__).resolve().parent.parent / "bot"
    found = [f"{path.relative_to(root)}:{node.lineno}"
             for path in sorted(root.rglob("*.py"))
             for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
             if isinstance(node, ast.Attribute) and node.attr == "wait_for"
             and isinstance(node.value, ast.Name) and node.value.id == "asyncio"]
    assert found == []
