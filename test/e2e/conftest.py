import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import pytest  # noqa: E402

from dpfwd_run import DPFWD  # noqa: E402


def pytest_sessionstart(session):
    if not DPFWD.exists():
        raise pytest.UsageError(f"{DPFWD} not built: run meson setup build && ninja -C build")
