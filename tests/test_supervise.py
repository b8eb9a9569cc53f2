"""helpcenter/supervise.py: what each line of the Procfile runs under (make run)."""

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, wait_for
from tests.harness import proc_stat

# A child that writes its pid, says it is up, and sleeps.
CHILD = (
    "import os, sys, time; from pathlib import Path;"
    " Path(sys.argv[1]).write_text(str(os.getpid())); print('child is up', flush=True);"
    " time.sleep(600)"
)


def supervise(tmp_path: Path, *options: str) -> tuple[subprocess.Popen, Path, Path]:
    pid_file, log = tmp_path / "child.pid", tmp_path / "supervise.log"
    process = subprocess.Popen(
        [
            sys.executable, str(ROOT / "helpcenter" / "supervise.py"), "--name", "child", *options,
            "--", sys.executable, "-c", CHILD, str(pid_file),
        ],
        stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    return process, pid_file, log


def child_pid(pid_file: Path) -> int:
    try:
        return int(pid_file.read_text())
    except (OSError, ValueError):
        return 0


def stop(process: subprocess.Popen) -> int:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    return process.wait(timeout=30)


def test_supervisor_restarts_a_killed_child_and_says_so(tmp_path):
    process, pid_file, log = supervise(tmp_path)
    try:
        first = wait_for(lambda: child_pid(pid_file))
        os.kill(first, signal.SIGKILL)

        second = wait_for(lambda: child_pid(pid_file) not in (0, first) and child_pid(pid_file))
        assert process.poll() is None
        os.kill(second, 0)  # alive
        assert "child was killed by signal 9" in log.read_text()
        assert "restart 1 in 1 s" in log.read_text()
    finally:
        assert stop(process) == 0


def test_supervisor_stops_with_its_child_when_told(tmp_path):
    process, pid_file, _ = supervise(tmp_path)
    child = wait_for(lambda: child_pid(pid_file))

    os.kill(process.pid, signal.SIGTERM)  # to the supervisor only: it passes it on

    assert process.wait(timeout=30) == 0
    wait_for(lambda: not Path(f"/proc/{child}").exists() or _is_zombie(child), timeout=10)


def test_supervisor_marks_the_child_ready_when_it_says_so(tmp_path):
    ready = tmp_path / "run" / "child.ready"
    process, pid_file, log = supervise(
        tmp_path, "--ready-when", "child is up", "--ready-file", str(ready)
    )
    try:
        wait_for(ready.exists)
        assert int(ready.read_text()) == wait_for(lambda: child_pid(pid_file))
        wait_for(lambda: "child is up" in log.read_text())  # the output is passed through
    finally:
        stop(process)


def _is_zombie(pid: int) -> bool:
    try:
        return proc_stat(pid)[0] == "Z"
    except OSError:
        return True
