"""Run one command and start it again whenever it stops by itself.

    python helpcenter/supervise.py --name worker [--ready-when TEXT --ready-file PATH] -- COMMAND...

honcho (``make run``) has no restart policy: when one of its processes exits it stops all the
others, so a crashed worker took the web server down with it. Each Procfile line runs its
command under this script instead. It

- restarts the command after it exits or is killed, waiting 1 s, then twice as long after
  each quick failure, up to 30 s (a command that ran for a minute starts over at 1 s), and
  says so on stderr;
- stops when it is told to (SIGTERM, SIGINT, SIGHUP), after passing the signal on and waiting
  for the command, so honcho's Ctrl-C still stops everything;
- with ``--ready-when``, copies the command's output line by line and touches ``--ready-file``
  when a line contains that text (``make run`` waits for these to say the site is up).

Only the standard library: it must run even when the project's code does not import.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

FIRST_DELAY = 1.0
MAX_DELAY = 30.0
HEALTHY_AFTER = 60.0  # seconds of running after which a failure counts as a first one
STOP_TIMEOUT = 20.0


def say(name: str, text: str) -> None:
    print(f"supervise[{name}]: {text}", file=sys.stderr, flush=True)


class Supervisor:
    def __init__(self, options: argparse.Namespace) -> None:
        self.options = options
        self.name = options.name
        self.stopping = threading.Event()
        self.child: subprocess.Popen | None = None

    def on_signal(self, signum: int, frame) -> None:
        self.stopping.set()
        child = self.child
        if child is not None and child.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(signum)

    def start_child(self) -> subprocess.Popen:
        # The child stays in our process group: honcho signals the whole group, and its
        # SIGKILL after a timeout must reach the child too.
        piped = bool(self.options.ready_when)
        child = subprocess.Popen(
            self.options.command,
            stdout=subprocess.PIPE if piped else None,
            stderr=subprocess.STDOUT if piped else None,
        )
        if piped:
            threading.Thread(target=self.copy_output, args=(child,), daemon=True).start()
        return child

    def copy_output(self, child: subprocess.Popen) -> None:
        marker = self.options.ready_when.encode()
        ready_file = Path(self.options.ready_file) if self.options.ready_file else None
        out = sys.stdout.buffer
        for line in iter(child.stdout.readline, b""):
            out.write(line)
            out.flush()
            if ready_file is not None and marker in line:
                ready_file.parent.mkdir(parents=True, exist_ok=True)
                ready_file.write_text(f"{child.pid}\n")
                ready_file = None  # once per start

    def run(self) -> int:
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, self.on_signal)
        delay = FIRST_DELAY
        restarts = 0
        while True:
            started = time.monotonic()
            self.child = self.start_child()
            code = self.wait()
            if self.stopping.is_set():
                return code if code >= 0 else 0
            ran = time.monotonic() - started
            if ran >= HEALTHY_AFTER:
                delay = FIRST_DELAY
            restarts += 1
            how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
            say(
                self.name,
                f"{self.name} {how} after {ran:.1f} s; restart {restarts} in {delay:g} s",
            )
            if self.stopping.wait(delay):
                return 0
            delay = min(delay * 2, MAX_DELAY)

    def wait(self) -> int:
        child = self.child
        while True:
            try:
                return child.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                if self.stopping.is_set():
                    try:
                        return child.wait(timeout=STOP_TIMEOUT)
                    except subprocess.TimeoutExpired:
                        child.kill()
                        return child.wait()


def parse_options(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--name", required=True, help="what to call the command in messages")
    parser.add_argument("--ready-when", default="", help="text of the output line that means up")
    parser.add_argument("--ready-file", default="", help="touched when that line is seen")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS...]")
    options = parser.parse_args(argv)
    if options.command[:1] == ["--"]:
        options.command = options.command[1:]
    if not options.command:
        parser.error("give the command to run after --")
    if bool(options.ready_when) != bool(options.ready_file):
        parser.error("--ready-when and --ready-file go together")
    return options


def main(argv: list[str] | None = None) -> int:
    options = parse_options(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    return Supervisor(options).run()


if __name__ == "__main__":
    sys.exit(main())
