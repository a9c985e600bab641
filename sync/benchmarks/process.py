"""Run a command as a child process and measure it: wall time, peak resident memory (the kernel's
high-water mark of the child's own address space), exit status, and optional SIGKILLs mid-run.
"""
from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ProcessResult:
    argv: tuple[str, ...]
    returncode: int  # negative: killed by that signal
    wall_s: float
    peak_rss_bytes: int
    stdout: str
    stderr: str
    #: (unix time, resident bytes) samples taken while the child ran
    rss_timeline: tuple[tuple[float, int], ...] = ()
    #: seconds the child took to get ready (0 unless it was started with ``ready_file``)
    startup_s: float = 0.0

    @property
    def process_s(self) -> float:
        """The whole process: start-up and work."""
        return self.startup_s + self.wall_s

    def peak_rss_between(self, start: float, end: float) -> int:
        """Highest resident size sampled in [start, end] (unix times), 0 when no sample falls there."""
        return max((rss for at, rss in self.rss_timeline if start <= at <= end), default=0)

    @property
    def killed(self) -> bool:
        return self.returncode == -signal.SIGKILL

    @property
    def peak_rss_mb(self) -> float:
        return self.peak_rss_bytes / (1024 * 1024)


def run_measured(argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: str | None = None,
                 kill_when: Callable[[], bool] | None = None, poll_s: float = 0.05,
                 timeout_s: float | None = None, ready_file: str | None = None) -> ProcessResult:
    """Run ``argv`` to completion and measure it.

    With ``ready_file``, the child is expected to create that file once set up and then wait for a line
    on its standard input: ``wall_s`` runs from that line to the child's exit, ``startup_s`` before it.

    ``kill_when`` is polled while the child runs; when it returns True the child gets SIGKILL (a crash
    drill). ``timeout_s`` also ends it with SIGKILL. Output goes to temporary files, so a chatty child
    cannot block on a full pipe.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(list(argv), env=dict(env) if env is not None else None, cwd=cwd,
                                stdout=out, stderr=err,
                                stdin=subprocess.PIPE if ready_file else subprocess.DEVNULL)
        stop = threading.Event()

        def watch() -> None:
            while not stop.wait(poll_s):
                over_time = timeout_s is not None and time.perf_counter() - started > timeout_s
                if over_time or (kill_when is not None and kill_when()):
                    try:
                        os.kill(proc.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    return

        peak = _PeakMemory(proc.pid)
        watcher = threading.Thread(target=watch, name=f"watch-{proc.pid}", daemon=True)
        sampler = threading.Thread(target=peak.follow, args=(stop, poll_s), name=f"rss-{proc.pid}",
                                   daemon=True)
        sampler.start()
        if kill_when is not None or timeout_s is not None:
            watcher.start()
        startup = 0.0
        if ready_file:
            startup = _wait_until_ready(proc, ready_file, poll_s=0.005) - started
            _say_go(proc)
        proc.wait()
        wall = time.perf_counter() - started - startup
        stop.set()
        sampler.join()
        out.seek(0)
        err.seek(0)
        return ProcessResult(tuple(argv), proc.returncode, wall, peak.bytes, out.read(), err.read(),
                             tuple(peak.timeline), startup)


def _wait_until_ready(proc: subprocess.Popen, ready_file: str, *, poll_s: float) -> float:
    """When (perf_counter) ``ready_file`` appeared, or the child ended without making it."""
    while not os.path.exists(ready_file) and proc.poll() is None:
        time.sleep(poll_s)
    return time.perf_counter()


def _say_go(proc: subprocess.Popen) -> None:
    assert proc.stdin is not None  # started with stdin=PIPE
    try:
        proc.stdin.write(b"go\n")
        proc.stdin.close()
    except (BrokenPipeError, OSError):
        pass  # the child is gone already; its exit status says why


class _PeakMemory:
    """Follows a child's peak RSS.

    ``VmHWM`` in /proc/<pid>/status is the kernel's high-water mark for the child's current address space,
    so reading it often enough only misses growth in the last interval before exit. ``ru_maxrss`` from
    wait4 is no use here: Linux carries the pre-exec (parent's) high-water mark across exec, so every
    child would report at least the benchmark's own size. Elsewhere, psutil's RSS is sampled instead.
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.bytes = 0
        self.timeline: list[tuple[float, int]] = []

    def read(self) -> int | None:
        try:
            with open(f"/proc/{self.pid}/status") as status:
                fields = dict(line.split(":", 1) for line in status if line.startswith(("VmHWM", "VmRSS")))
            if "VmHWM" in fields:
                if "VmRSS" in fields:
                    self.timeline.append((time.time(), int(fields["VmRSS"].split()[0]) * 1024))
                return int(fields["VmHWM"].split()[0]) * 1024
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            pass
        except OSError:
            return None
        try:
            import psutil

            rss = psutil.Process(self.pid).memory_info().rss
            self.timeline.append((time.time(), rss))
            return rss
        except Exception:  # noqa: BLE001 - the child may be gone between two samples
            return None

    def follow(self, stop: threading.Event, interval: float) -> None:
        while True:
            value = self.read()
            if value:
                self.bytes = max(self.bytes, value)
            if stop.wait(interval):
                return
