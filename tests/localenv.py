"""Loaded as a pytest plugin (-p) before Django is set up: tests run as a local machine
(generated key, plain-http cookies) on the sandbox's unscaled clock."""

import os

os.environ.setdefault("CALLBOARD_LOCAL", "1")
os.environ.setdefault("SANDBOX_TIME_SCALE", "1")

# Test databases of runs that were killed (their process is gone) are removed, WAL files
# included: a new database next to a stale WAL fails with "disk I/O error".
from pathlib import Path

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
ARTIFACTS.mkdir(exist_ok=True)
for stale in ARTIFACTS.glob("test-db-*.sqlite3*"):
    pid = stale.name.split("-")[2].split(".")[0]
    if pid.isdigit() and not Path(f"/proc/{pid}").exists():
        stale.unlink(missing_ok=True)
