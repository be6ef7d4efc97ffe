"""The Celery app as the worker subprocesses of tests/tasks/test_exactly_once.py run it:
`celery -A tests.tasks.exactly_once_worker worker ...` with DJANGO_SETTINGS_MODULE =
tests.tasks.exactly_once_settings. Adds two probes, connected before the pool forks:

- every task start and finish is appended to DUBAN_TEST_RUN_LOG (name, args, return value, pid);
- with DUBAN_TEST_SWEEP_BARRIER (a directory) and DUBAN_TEST_SWEEP_PARTIES = n, each sweep task
  waits at the start until n sweeps have arrived, so the two sweeps of two beat schedulers
  really claim at the same moment, in two processes (like threading.Barrier in the thread tests)."""

from __future__ import annotations

import os
import time

from celery.signals import task_postrun, task_prerun

from config.celery import app  # noqa: F401  (the app celery -A finds)

SWEEP = "tasks.reminders.sweep_due_reminders"


def _log(event: str, task, task_id, args, **extra) -> None:
    from tests.tasks.exactly_once_support import append

    if os.environ.get("DUBAN_TEST_RUN_LOG"):
        append(os.environ["DUBAN_TEST_RUN_LOG"], event, task=task.name, id=task_id, args=list(args or ()), **extra)


@task_prerun.connect(weak=False)
def _started(task_id=None, task=None, args=None, **kwargs):
    barrier = os.environ.get("DUBAN_TEST_SWEEP_BARRIER")
    if barrier and task.name == SWEEP:
        parties = int(os.environ.get("DUBAN_TEST_SWEEP_PARTIES", "2"))
        open(os.path.join(barrier, task_id), "w").close()
        deadline = time.monotonic() + 20
        while len(os.listdir(barrier)) < parties and time.monotonic() < deadline:
            time.sleep(0.005)
    _log("task_started", task, task_id, args)


@task_postrun.connect(weak=False)
def _finished(task_id=None, task=None, args=None, retval=None, state=None, **kwargs):
    _log(
        "task_finished",
        task,
        task_id,
        args,
        retval=retval if isinstance(retval, (int, str, type(None))) else repr(retval),
        state=state,
    )
