"""Power loss (tests/reliability/powerloss.py): the file system's model, then serve cut CUTS times in each mode.

CI cuts the power 50 times per mode (WORKFLOW_POWERLOSS_CUTS); 500 per mode by hand (SECURITY.md)."""

from __future__ import annotations

import contextlib
import os
import random
import threading
from pathlib import Path

import pytest

from tests.reliability.powerloss import fuse_missing, mount, run, unmount

CUTS = int(os.environ.get("WORKFLOW_POWERLOSS_CUTS", "50"))
pytestmark = pytest.mark.skipif(fuse_missing() is not None, reason=f"power-loss suite: {fuse_missing()}")


def _cut_after(folder: Path, mode: str, work: list[tuple[str, int, bytes, bool]], seed: int) -> Path:
    """Mount an empty disk that dies at the operation after ``work``; run ``work`` (name, offset, data, fsync
    after?), cut, and return what the disk kept."""
    (folder / "back").mkdir()
    (folder / "durable").mkdir()
    operations = 1 + sum(2 if synced else 1 for *_, synced in work) + len({name for name, *_ in work})
    fs, lines, point = mount(folder, operations, mode, seed)
    handles: dict[str, int] = {}

    def program() -> None:  # blocked by the cut in its last operation, failed with EIO at the release
        try:
            for name, offset, data, synced in work:
                if name not in handles:
                    handles[name] = os.open(point / name, os.O_RDWR | os.O_CREAT, 0o644)
                os.pwrite(handles[name], data, offset)
                if synced:
                    os.fsync(handles[name])
            (point / "after-the-cut").write_bytes(b"never")
        except OSError:
            pass

    victim = threading.Thread(target=program, daemon=True)
    victim.start()
    assert lines.seen["cut"].wait(timeout=120), "the disk did not cut at the operation it was told"
    assert lines.rest["cut"] == str(operations)
    assert fs.stdin is not None
    fs.stdin.write("release\n")
    fs.stdin.flush()
    victim.join(timeout=120)
    for fd in handles.values():
        with contextlib.suppress(OSError):
            os.close(fd)
    unmount(fs, lines, point)
    return folder / "durable"


def test_the_disk_keeps_what_was_synced_and_drops_the_rest(tmp_path: Path) -> None:
    kept = _cut_after(tmp_path, "drop", [("a", 0, b"synced", True), ("a", 6, b"+lost", False),
                                         ("b", 0, b"never synced", False)], 1)
    assert (kept / "a").read_bytes() == b"synced"
    assert (kept / "b").read_bytes() == b""  # the name survived (metadata is durable at once), the data did not
    assert not (kept / "after-the-cut").exists()


def test_in_reorder_mode_some_unsynced_pieces_survive_in_any_order(tmp_path: Path) -> None:
    pieces = [(i * 4096, bytes([65 + i]) * 4096) for i in range(16)]
    kept = _cut_after(tmp_path, "reorder", [("f", i * 4096, b"x" * 4096, i == 15) for i in range(16)]
                      + [("f", offset, data, False) for offset, data in pieces], 7)
    content = (kept / "f").read_bytes()
    survived = [content[o:o + 4096] == d for o, d in pieces]
    assert any(survived), survived
    assert not all(survived), survived
    assert all(content[o:o + 4096] in (d, b"x" * 4096) for o, d in pieces)


@pytest.mark.parametrize("mode", ["drop", "reorder"])
def test_serve_survives_power_cuts_with_synchronous_full(mode: str, tmp_path: Path) -> None:
    report = run(mode, CUTS, {"drop": 11, "reorder": 12}[mode], tmp_path)
    assert report.failures == []
    assert report.cuts == CUTS
    if CUTS >= 20:
        assert report.cuts_while_starting > 0  # some cuts fell while serve started and recovered
    assert report.acknowledged >= CUTS * 5
    assert report.timers_fired > 0
    assert report.escalations > 0
    assert report.mail_delivered > 0


def test_the_suite_catches_what_synchronous_normal_loses(tmp_path: Path) -> None:
    """The negative control: with synchronous=NORMAL a WAL commit is acknowledged before it is on the disk,
    and the first cut after an acknowledgement loses it; the checks must say so."""
    report = run("drop", 10, random.Random(5).randrange(100), tmp_path, synchronous="NORMAL")
    assert report.failures, "synchronous=NORMAL survived 10 power cuts: the file system does not drop writes"
    assert "is not in the history" in report.failures[0]
