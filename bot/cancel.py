"""Cancelling a background task and waiting for its end, without swallowing a cancellation."""

from __future__ import annotations

import asyncio
from typing import Any


async def cancel_and_wait(task: asyncio.Future[Any] | None) -> None:
    """Cancel `task` and return once it has ended; its own failure, if any, is raised here.

    Not `with suppress(CancelledError): await task`: when the caller is itself cancelled
    while it waits, that would swallow the caller's cancellation too, and the caller would
    carry on as if nothing happened (a connection's clean-up went on reconnecting for good
    after its stop). Here the caller's cancellation propagates."""
    if task is None:
        return
    task.cancel()
    await asyncio.wait({task})
    if not task.cancelled():
        task.result()
