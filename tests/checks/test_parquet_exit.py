"""A process that read a Parquet file exits with its own status, not a pyarrow abort.

pyarrow leaves read-ahead work running after ``read_table`` returns (apache/arrow#33975).
While ``read_table`` handed pyarrow memory that Python owns (``io.BytesIO(data)``), that
work took the GIL to let go of it; when it did so during interpreter exit the process
died of SIGABRT ("terminate called without an active exception") after its work was
done. Measured with the script below before the fix: 30 of 50 children aborted on a
small file, 29 of 50 on this wide one; after it, 0 of 300. The ``check`` commands do more
work between reading and exiting, which leaves the read-ahead time to finish: through
them the abort was rare (see docs/changelog.md), but it was the same race.

The abort is a race with interpreter exit, so one run proves little. The script imports
once and forks children that each read the file and exit at once, normally (finalisation
is where the abort happened); a child killed by a signal is counted. With the old reader,
all ``CHILDREN`` exiting cleanly had a chance of about 0.4**8 = 0.07%.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from tests.conftest import require

CHILDREN = 8

SCRIPT = """
import os, sys
import pyarrow.dataset, pyarrow.parquet  # imported before the fork, as a command has them
from modelship.checks._cli_common import read_table

killed = []
for _ in range(int(sys.argv[2])):
    pid = os.fork()
    if pid == 0:
        read_table(sys.argv[1])
        sys.exit(0)  # a normal exit: interpreter finalisation is where pyarrow aborted
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        killed.append(os.WTERMSIG(status))
print("killed", killed)
"""


def _wide_parquet(path: Path) -> Path:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        require("pyarrow", "pip install 'modelship[parquet]'")
        raise
    rng = np.random.default_rng(0)
    columns: dict[str, object] = {f"n{i}": rng.normal(size=20_000) for i in range(10)}
    plans = pa.array([f"plan-{j % 7}" for j in range(20_000)]).dictionary_encode()
    columns.update({f"c{i}": plans for i in range(5)})
    pq.write_table(pa.table(columns), path, row_group_size=2_000)
    return path


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the script forks its readers")
def test_reading_parquet_never_aborts_the_process_at_exit(tmp_path: Path) -> None:
    path = _wide_parquet(tmp_path / "wide.parquet")
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(path), str(CHILDREN)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "killed []", done.stderr
