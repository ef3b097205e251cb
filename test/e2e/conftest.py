import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import pytest  # noqa: E402

from dpfwd_run import DPFWD, Running  # noqa: E402


@pytest.fixture(autouse=True)
def no_dpfwd_left_running():
    """A test that failed before stopping its dpfwd would leave it taking a CPU (and,
    on hugepages, memory) from every later test. Only what the test itself started:
    a module's shared dpfwd (made before this fixture) is its fixture's to stop."""
    first = len(Running.STARTED)
    yield
    for run in Running.STARTED[first:]:
        run.kill()
    del Running.STARTED[first:]


def pytest_sessionstart(session):
    if not DPFWD.exists():
        raise pytest.UsageError(f"{DPFWD} not built: run meson setup build && ninja -C build")
