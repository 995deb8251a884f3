"""A FUSE file system that loses power: every write since the last fsync of its file is volatile.

Run as its own process by the power-loss suite (``tests/reliability/powerloss.py``)::

    python -m tests.reliability.cutfs MOUNT BACK DURABLE --cut-at N --mode drop|reorder --seed S

* ``BACK`` holds what the running programs see (the page cache, in effect); every operation goes there.
* ``DURABLE`` holds what the disk holds: a file's data reaches it only when the file is fsynced
  (``fsync``/``fdatasync``), then in the order it was written. Metadata (create, unlink, rename, mkdir) reaches it
  at once, as on a journalling file system that commits names before data (ext4 ``data=ordered``); this is
  the kinder half of the model and is said so in SECURITY.md.
* The power is cut at the ``N``-th mutating operation (write, truncate, fsync, create, unlink, rename, mkdir):
  from then on every operation, reads included, blocks, as a machine without power answers nothing. At the
  cut, in mode ``drop`` the unsynced writes are lost; in mode ``reorder`` each 4 KiB piece of each unsynced
  write (and each unsynced truncate) survives or not by a seeded coin, in a seeded random order: a disk that
  wrote some of its cache back, out of order, and tore the writes at sector boundaries.

Protocol on stdin/stdout, one line each: the process prints ``mounted`` when the mount answers, and
``cut OPS`` at the cut; it reads ``release`` (blocked operations fail with EIO so that killed programs can
die) and then expects ``fusermount3 -u``. ``DURABLE`` is then the disk after the reboot.
"""

from __future__ import annotations

import argparse
import errno
import os
import random
import sys
import threading
from pathlib import Path
from typing import Any

import mfusepy as fuse

PIECE = 4096
Op = tuple[str, int, bytes]  # ("w", offset, data) or ("t", length, b"")


class PowerCut(fuse.Operations):
    use_ns = True

    def __init__(self, back: Path, durable: Path, cut_at: int, mode: str, seed: int) -> None:
        self.back, self.durable = back, durable
        self.cut_at, self.mode, self.rng = cut_at, mode, random.Random(seed)
        self.mutex = threading.Lock()
        self.pending: dict[str, list[Op]] = {}
        self.ops = 0
        self.cut = threading.Event()
        self.released = threading.Event()

    # -- the power ------------------------------------------------------------------------------------------
    def _dead(self) -> None:
        """Called at the start of every operation: after the cut, wait for the release, then fail."""
        if self.cut.is_set():
            self.released.wait()
            raise fuse.FuseOSError(errno.EIO)

    def _mutation(self) -> None:
        """Count one mutating operation (the caller holds the lock); cut the power at the chosen one."""
        self._dead()
        self.ops += 1
        if self.ops < self.cut_at:
            return
        if self.mode == "reorder":
            pieces: list[tuple[str, Op]] = []
            for path, ops in self.pending.items():
                for kind, where, data in ops:
                    if kind == "t":
                        pieces.append((path, (kind, where, data)))
                        continue
                    start = where
                    while data:
                        size = PIECE - (start % PIECE)
                        pieces.append((path, ("w", start, data[:size])))
                        start, data = start + size, data[size:]
            self.rng.shuffle(pieces)
            for path, op in pieces:
                if self.rng.random() < 0.5:
                    self._apply(path, [op])
        self.pending.clear()
        self.cut.set()
        print(f"cut {self.ops}", flush=True)
        self._dead()

    def _apply(self, path: str, ops: list[Op]) -> None:
        target = self.durable / path
        if not target.exists():
            return
        with open(target, "r+b") as f:
            for kind, where, data in ops:
                if kind == "t":
                    f.truncate(where)
                else:
                    f.seek(where)
                    f.write(data)

    def _b(self, path: str) -> str:
        return str(self.back / path.lstrip("/"))

    def _d(self, path: str) -> Path:
        return self.durable / path.lstrip("/")

    # -- reading: pass through to BACK -----------------------------------------------------------------------
    def getattr(self, path: str, fh: int | None = None) -> dict[str, Any]:
        self._dead()
        st = os.lstat(self._b(path))
        return {k: getattr(st, k) for k in ("st_mode", "st_nlink", "st_size", "st_uid", "st_gid")} | {
            "st_atime": st.st_atime_ns, "st_mtime": st.st_mtime_ns, "st_ctime": st.st_ctime_ns}

    def readdir(self, path: str, fh: int) -> list[str]:
        self._dead()
        return [".", "..", *os.listdir(self._b(path))]

    def access(self, path: str, amode: int) -> int:
        self._dead()
        if not os.access(self._b(path), amode):
            raise fuse.FuseOSError(errno.EACCES)
        return 0

    def statfs(self, path: str) -> dict[str, Any]:
        self._dead()
        st = os.statvfs(self._b(path))
        return {k: getattr(st, k) for k in ("f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail", "f_ffree",
                                            "f_files", "f_flag", "f_frsize", "f_namemax")}

    def open(self, path: str, flags: int) -> int:
        self._dead()
        return os.open(self._b(path), flags & ~(os.O_CREAT | os.O_EXCL))

    def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
        self._dead()
        return os.pread(fh, size, offset)

    def flush(self, path: str, fh: int) -> int:
        self._dead()
        return 0

    def release(self, path: str, fh: int) -> int:
        os.close(fh)
        return 0

    def chmod(self, path: str, mode: int) -> int:
        self._dead()
        os.chmod(self._b(path), mode)
        return 0

    def chown(self, path: str, uid: int, gid: int) -> int:
        self._dead()
        return 0

    def utimens(self, path: str, times: tuple[int, int] | None = None) -> int:
        self._dead()
        os.utime(self._b(path), ns=times)
        return 0

    # -- writing: BACK at once, DURABLE at fsync (data) or at once (names) ------------------------------------
    def create(self, path: str, mode: int, fi: Any = None) -> int:
        with self.mutex:
            self._mutation()
            fd = os.open(self._b(path), os.O_RDWR | os.O_CREAT | os.O_TRUNC, mode)
            self._d(path).touch()
            self.pending.pop(path.lstrip("/"), None)
            return fd

    def write(self, path: str, data: bytes, offset: int, fh: int) -> int:
        with self.mutex:
            self._mutation()
            written = os.pwrite(fh, data, offset)
            self.pending.setdefault(path.lstrip("/"), []).append(("w", offset, bytes(data[:written])))
            return written

    def truncate(self, path: str, length: int, fh: int | None = None) -> int:
        with self.mutex:
            self._mutation()
            os.truncate(self._b(path), length)
            self.pending.setdefault(path.lstrip("/"), []).append(("t", length, b""))
            return 0

    def fsync(self, path: str, datasync: int, fh: int) -> int:
        with self.mutex:
            self._mutation()
            key = path.lstrip("/")
            self._apply(key, self.pending.pop(key, []))
            return 0

    def fsyncdir(self, path: str, datasync: int, fh: int) -> int:
        self._dead()
        return 0

    def unlink(self, path: str) -> int:
        with self.mutex:
            self._mutation()
            os.unlink(self._b(path))
            self._d(path).unlink(missing_ok=True)
            self.pending.pop(path.lstrip("/"), None)
            return 0

    def rename(self, old: str, new: str) -> int:
        with self.mutex:
            self._mutation()
            os.rename(self._b(old), self._b(new))
            if self._d(old).exists():
                os.rename(self._d(old), self._d(new))
            moved = self.pending.pop(old.lstrip("/"), None)
            if moved is not None:
                self.pending[new.lstrip("/")] = moved
            return 0

    def mkdir(self, path: str, mode: int) -> int:
        with self.mutex:
            self._mutation()
            os.mkdir(self._b(path), mode)
            self._d(path).mkdir(exist_ok=True)
            return 0

    def rmdir(self, path: str) -> int:
        with self.mutex:
            self._mutation()
            os.rmdir(self._b(path))
            if self._d(path).exists():
                os.rmdir(self._d(path))
            return 0

    def init(self, path: str) -> None:
        threading.Thread(target=self._control, daemon=True).start()
        print("mounted", flush=True)

    def _control(self) -> None:
        for line in sys.stdin:
            if line.strip() == "release":
                self.released.set()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mount", type=Path)
    parser.add_argument("back", type=Path)
    parser.add_argument("durable", type=Path)
    parser.add_argument("--cut-at", type=int, required=True)
    parser.add_argument("--mode", choices=("drop", "reorder"), default="drop")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    operations = PowerCut(args.back.resolve(), args.durable.resolve(), args.cut_at, args.mode, args.seed)
    fuse.FUSE(operations, str(args.mount), foreground=True, nothreads=False, default_permissions=True)


if __name__ == "__main__":
    main()
