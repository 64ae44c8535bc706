"""House style: ruff lint passes on the whole tree (ruff comes with the dev extra)."""

import shutil
import subprocess

import pytest

from tests.conftest import REPO


def test_ruff_check_passes():
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.fail("ruff is not installed: scripts/test.sh installs the dev extra")
    result = subprocess.run([ruff, "check", "--no-cache", "."], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]
