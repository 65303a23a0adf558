"""Run one Airflow task (``airflow tasks test``) or a whole DAG (``airflow dags test``) in this process.

DataPipeline's Run Task and Test DAG commands start it in the stack's Airflow environment (native: the
stack's venv with its database, connections and variables; Docker: inside the scheduler's container):

    python -m datapipeline_runner tasks test <dag_id> <task_id> [logical date or run id]
    python -m datapipeline_runner dags test <dag_id>
    python -m datapipeline_runner --debug-listen <host>:<port> tasks test <dag_id> <task_id>

It is Airflow's own CLI, unchanged, with one addition: every XCom a task pushes is printed as one line
``DATAPIPELINE_XCOM {"task": ..., "key": ..., "value": ...}`` (the extension shows them; a value that is
not JSON is shown as its repr). With ``--debug-listen`` it first waits for a debugger: debugpy listens
there (its own debug adapter), prints ``DATAPIPELINE_DEBUG_READY <port>`` and the task starts once VS Code
has attached and set its breakpoints. Nothing here runs on import: the stack's plugins folder holds
this file.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import threading

XCOM_MARK = "DATAPIPELINE_XCOM "
DEBUG_MARK = "DATAPIPELINE_DEBUG_READY "
_inside = threading.local()


def _print_xcoms(cls: type) -> None:
    """Wraps cls.set (a classmethod) to print each value pushed; the push itself is unchanged."""
    original = cls.__dict__.get("set")
    if not isinstance(original, classmethod):
        return
    fn = original.__func__

    def set_(klass, key, value, *args, **kwargs):
        outer = not getattr(_inside, "on", False)
        if outer:
            _inside.on = True
            try:
                line = json.dumps({"task": kwargs.get("task_id"), "key": key, "value": value}, default=repr)
                print(XCOM_MARK + line, flush=True)
            except Exception:  # a value json cannot even repr: the task goes on
                pass
        try:
            return fn(klass, key, value, *args, **kwargs)
        finally:
            if outer:
                _inside.on = False

    cls.set = classmethod(set_)


def _watch_task_state() -> list:
    """Airflow 3's `tasks test` exits 0 when its task fails (it leaves the state on the task instance):
    the task instances it ran are kept here, so a failed one makes the exit code 1 as on Airflow 2."""
    ran: list = []
    try:
        from airflow.cli.commands import task_command

        original = task_command._run_task

        def run_task(*args, **kwargs):
            ti = kwargs.get("ti", args[0] if args else None)
            if ti is not None:
                ran.append(ti)
            return original(*args, **kwargs)

        task_command._run_task = run_task
    except Exception:  # Airflow 2 has no _run_task: its `tasks test` raises when the task fails
        pass
    return ran


def _wait_for_debugger(address: str) -> None:
    import debugpy

    host, _, port = address.rpartition(":")
    # debugpy starts its adapter as a daemon that outlives this process; given this process's stdout
    # and stderr it would hold them open, and whoever reads them (the extension) would wait on it
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    devnull = os.open(os.devnull, os.O_RDWR)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        debugpy.listen((host or "127.0.0.1", int(port)))
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)
    print(f"{DEBUG_MARK}{port}", flush=True)
    debugpy.wait_for_client()


def main(argv: list[str]) -> int:
    # its own process group, so a stop reaches what the task started too (Airflow 3 runs the task in a
    # child process): the extension signals the group (native: it is one already, as a session leader)
    try:
        os.setpgid(0, 0)
    except OSError:
        pass
    if argv[:1] == ["--debug-listen"]:
        _wait_for_debugger(argv[1])
        argv = argv[2:]
    # Airflow 2: models.xcom.BaseXCom; Airflow 3: the task SDK's (tasks push through it)
    for module, name in (("airflow.sdk.bases.xcom", "BaseXCom"), ("airflow.models.xcom", "BaseXCom")):
        try:
            _print_xcoms(getattr(importlib.import_module(module), name))
        except Exception:
            pass
    ran = _watch_task_state()
    from airflow.__main__ import main as airflow_main

    sys.argv = ["airflow", *argv]
    try:
        airflow_main()
    except SystemExit as e:
        if isinstance(e.code, int) or e.code is None:
            return e.code or 0
        print(e.code, file=sys.stderr)
        return 1
    failed = [ti.task_id for ti in ran if str(getattr(ti, "state", "")).lower().endswith("failed")]
    if failed:
        print(f"DataPipeline: task {', '.join(failed)} failed", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
