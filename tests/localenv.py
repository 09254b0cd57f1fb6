"""Loaded as a pytest plugin (-p) before Django is set up: tests run as a local machine
(generated key, plain-http cookies) on the sandbox's unscaled clock."""

import os

os.environ.setdefault("CALLBOARD_LOCAL", "1")
os.environ.setdefault("SANDBOX_TIME_SCALE", "1")
