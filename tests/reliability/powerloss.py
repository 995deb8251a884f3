"""The power-loss suite: ``workflow serve`` on a file system that loses unsynced writes (``cutfs.py``), under the
crash loop's HTTP load (timers due at once, mail going out through a real SMTP server), the power cut at a
seeded operation, the disk "rebooted" and ``serve`` started again on what the disk kept, round after round.

After every cut, on the disk as it came back, the crash loop's checks (``crashloop.check``): integrity_check,
audit verify, every instance row = the replay of its history, every acknowledged transition present, no timer
fired twice, no mail marked sent that did not reach the SMTP server (repeats bounded).

Two modes (see ``cutfs.py``): ``drop`` loses every unsynced write; ``reorder`` keeps a seeded random subset of
them, torn at 4 KiB and applied in a random order. One cut in ten falls in the first 60 operations of the
round, that is while ``serve`` starts and recovers.

By hand (500 cuts each, documented in SECURITY.md)::

    .venv/bin/python -m tests.reliability.powerloss --mode drop --rounds 500 --seed 1
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from tests.reliability.crashloop import WORKFLOW, Client, check, seed, serve_env
from tests.servers import ServeLog, smtp_sink

MAX_OPS = 1500  # a cut falls uniformly in the round's first MAX_OPS mutating operations (or, 1 in 10, the first 60)
LONGEST = 600.0  # seconds a round may wait for its cut before it is reported as stuck (never reached when healthy)


def fuse_missing() -> str | None:
    """Why the suite cannot run here, or None."""
    if not os.path.exists("/dev/fuse"):
        return "/dev/fuse is absent: no FUSE on this machine (a container without --device /dev/fuse)"
    if shutil.which("fusermount3") is None:
        return "fusermount3 is missing: apt-get install fuse3"
    try:
        import mfusepy  # noqa: F401
    except (ImportError, OSError) as err:
        return f"mfusepy cannot load libfuse3: {err}"
    return None


@dataclass
class Report:
    mode: str
    seed: int
    synchronous: str = "FULL"
    cuts: int = 0
    cuts_while_starting: int = 0
    acknowledged: int = 0
    acknowledged_at_cuts: list[int] = field(default_factory=list)
    cut_at: list[int] = field(default_factory=list)
    instances: int = 0
    timers_fired: int = 0
    escalations: int = 0
    mail_delivered: int = 0
    mail_duplicates: int = 0
    failures: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Lines(threading.Thread):
    """Reads a child's stdout; sets an event per awaited word and keeps the rest of that line."""

    def __init__(self, stream: IO[str], *words: str) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.seen = {w: threading.Event() for w in words}
        self.rest: dict[str, str] = {}
        self.closed = threading.Event()
        self.start()

    def run(self) -> None:
        for line in self.stream:
            word, _, rest = line.strip().partition(" ")
            if word in self.seen:
                self.rest[word] = rest
                self.seen[word].set()
        self.closed.set()


def mount(folder: Path, cut_at: int, mode: str, seed_value: int) -> tuple[subprocess.Popen[str], Lines, Path]:
    back, durable, point = folder / "back", folder / "durable", folder / "mnt"
    point.mkdir()
    log = folder / "cutfs.log"
    with open(log, "w") as log_file:
        fs = subprocess.Popen([sys.executable, "-m", "tests.reliability.cutfs", str(point), str(back), str(durable),
                               "--cut-at", str(cut_at), "--mode", mode, "--seed", str(seed_value)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log_file, text=True)
    assert fs.stdout is not None
    lines = Lines(fs.stdout, "mounted", "cut")
    while not lines.seen["mounted"].wait(timeout=1.0):
        if lines.closed.is_set():
            fs.wait()
            raise RuntimeError(f"the FUSE file system did not mount: {log.read_text()[-2000:]}")
    return fs, lines, point


def unmount(fs: subprocess.Popen[str], lines: Lines, point: Path) -> None:
    subprocess.run(["fusermount3", "-u", "-z", str(point)], check=False, capture_output=True)
    fs.wait(timeout=120)
    lines.closed.wait(timeout=120)
    for stream in (fs.stdin, fs.stdout):
        if stream is not None:
            stream.close()


def one_round(number: int, image: Path, folder: Path, mode: str, rng: random.Random, key: str,
              acknowledged: list[tuple[int, int, str]], lock: threading.Lock, smtp: Any,
              report: Report, synchronous: str) -> Path:
    """Copy ``image`` to a new disk, run serve on it until the cut; return the disk as it came back."""
    shutil.copytree(image, folder / "back")
    shutil.copytree(image, folder / "durable")
    cut_at = rng.randrange(1, 60) if rng.random() < 0.1 else rng.randrange(60, MAX_OPS)
    fs, fs_lines, point = mount(folder, cut_at, mode, rng.randrange(1 << 30))
    env = serve_env(point / "crashloop.db", smtp) | {"WORKFLOW_SQLITE_SYNCHRONOUS": synchronous}
    serve = subprocess.Popen([WORKFLOW, "serve", "--port", "0"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert serve.stderr is not None
    serve_log = ServeLog(serve.stderr)
    clients: list[Client] = []
    try:
        cut = fs_lines.seen["cut"]
        waited = 0.0
        while not cut.is_set():
            ready = serve_log.find("ready")
            if ready is not None and not clients:
                url = str(ready["url"])
                clients = [Client(url, key, random.Random(rng.random()), f"p{number}c{c}", acknowledged, lock)
                           for c in range(4)]
                for client in clients:
                    client.start()
            if serve_log.closed and not cut.is_set():
                raise RuntimeError(f"serve exited with {serve.wait()} before the cut")
            if clients and not any(c.is_alive() for c in clients):
                raise RuntimeError("the load stopped (a 5xx or a refused connection) before the cut")
            cut.wait(timeout=0.05)  # waiting for the cut or for serve's "ready" record, not for a clock
            waited += 0.05
            if waited > LONGEST:
                raise RuntimeError(f"no cut after {LONGEST:.0f} s: the load made fewer than {cut_at} operations")
    finally:
        serve.send_signal(signal.SIGKILL)
        assert fs.stdin is not None
        fs.stdin.write("release\n")
        fs.stdin.flush()
        serve.wait()  # its log's reader closes the pipe at its end
        for client in clients:
            client.join(timeout=60)
        unmount(fs, fs_lines, point)
    report.cuts += 1
    report.cut_at.append(cut_at)
    if not clients:
        report.cuts_while_starting += 1
    with lock:
        report.acknowledged_at_cuts.append(len(acknowledged))
    shutil.rmtree(folder / "back")
    return folder / "durable"


def run(mode: str, rounds: int, seed_value: int, folder: Path, synchronous: str = "FULL") -> Report:
    """Cut the power ``rounds`` times; stop at the first failed check (in ``Report.failures``)."""
    image = folder / "disk0"
    image.mkdir(parents=True)
    key = seed(image / "crashloop.db")
    report = Report(mode, seed_value, synchronous)
    acknowledged: list[tuple[int, int, str]] = []
    lock = threading.Lock()
    with smtp_sink() as smtp:
        for number in range(1, rounds + 1):
            here = folder / f"round{number}"
            here.mkdir()
            rng = random.Random(f"{seed_value}/{number}")  # the round's cut does not depend on earlier timing
            try:
                disk = one_round(number, image, here, mode, rng, key, acknowledged, lock, smtp, report,
                                 synchronous)
            except RuntimeError as err:
                report.failures.append(f"cut {number} ({mode}): {err}")
                break
            with lock:
                snapshot = list(acknowledged)
            try:
                checks = check(disk / "crashloop.db", snapshot, smtp, number)
            except AssertionError as err:
                report.failures.append(f"cut {number} ({mode}, at operation {report.cut_at[-1]}): {err}")
                break
            shutil.rmtree(image)
            image = disk
            for name in ("instances", "timers_fired", "escalations", "mail_delivered", "mail_duplicates"):
                setattr(report, name, int(checks[name]))
        report.acknowledged = len(acknowledged)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=("drop", "reorder"), default="drop")
    parser.add_argument("--rounds", type=int, default=500, help="how many times the power is cut")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--synchronous", default="FULL", choices=("FULL", "NORMAL", "EXTRA"),
                        help="SQLite's synchronous setting for serve (FULL is the shipped default)")
    args = parser.parse_args()
    missing = fuse_missing()
    if missing:
        sys.exit(f"cannot run: {missing}")
    import tempfile

    started = dt.datetime.now(dt.UTC)
    with tempfile.TemporaryDirectory() as tmp:
        report = run(args.mode, args.rounds, args.seed, Path(tmp), args.synchronous)
    body = report.as_dict() | {"seconds": (dt.datetime.now(dt.UTC) - started).total_seconds()}
    body["cut_at"] = f"{min(report.cut_at, default=0)}..{max(report.cut_at, default=0)}"
    body["acknowledged_at_cuts"] = len(body["acknowledged_at_cuts"])
    print(json.dumps(body, indent=1))
    sys.exit(1 if report.failures else 0)


if __name__ == "__main__":
    main()
