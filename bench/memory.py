"""Peak memory of the PostgreSQL backends that serve a database, sampled from /proc."""

from __future__ import annotations

import threading
from pathlib import Path


class BackendMemory(threading.Thread):
    """Samples the PostgreSQL backends serving `dbname` (read from /proc, so only when the
    server runs on this machine): the peak of their summed private memory (RssAnon; the
    shared buffers are PostgreSQL's fixed cache, shared by all) and the largest VmHWM."""

    def __init__(self, dbname: str) -> None:
        super().__init__(daemon=True)
        self.marker = f" {dbname} ".encode()
        self.peak_private_mb = 0.0
        self.peak_single_mb = 0.0
        self.seen = 0
        self.stop = threading.Event()

    def sample(self) -> None:
        total = 0.0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if self.marker not in (entry / "cmdline").read_bytes().replace(b"\0", b" "):
                    continue
                status = (entry / "status").read_text()
            except OSError:
                continue
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            anon = int(fields.get("RssAnon", "0 kB").split()[0]) / 1024
            hwm = int(fields.get("VmHWM", "0 kB").split()[0]) / 1024
            total += anon
            self.seen += 1
            self.peak_single_mb = max(self.peak_single_mb, hwm)
        self.peak_private_mb = max(self.peak_private_mb, total)

    def run(self) -> None:
        while not self.stop.is_set():
            self.sample()
            self.stop.wait(0.05)
