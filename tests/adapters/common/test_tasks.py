from __future__ import annotations

import asyncio

from adapters.common.tasks import TaskSet


async def test_tasks_report_errors_and_cancel_on_close() -> None:
    errors: list[BaseException] = []
    tasks = TaskSet(on_error=lambda task, exc: errors.append(exc))

    async def boom() -> None:
        raise ValueError("boom")

    failing = tasks.spawn(boom(), name="failing")
    forever = tasks.spawn(asyncio.Event().wait(), name="forever")
    await asyncio.gather(failing, return_exceptions=True)
    assert [str(e) for e in errors] == ["boom"] and len(tasks) == 1 and forever.get_name() == "forever"
    await tasks.aclose()
    await tasks.aclose()
    assert forever.cancelled() and len(tasks) == 0



async def test_no_new_task_once_closing() -> None:
    tasks = TaskSet()
    await tasks.aclose()
    ran: list[str] = []

    async def work() -> None:
        ran.append("ran")

    assert tasks.spawn(work(), name="late") is None
    await asyncio.sleep(0)
    assert ran == [] and len(tasks) == 0
