"""`make test` does its own set-up on a fresh clone: the pip extras and the npm test provider, each behind a stamp."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
NPM_CI = "npm ci --prefix tests/oidc"
NPM_CI_HUB = "npm ci --prefix tests/hub"

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _clone(tmp_path: Path) -> Path:
    """The files `make test` reads, as a fresh clone has them (no venv, no node_modules)."""
    for name in ("Makefile", "pyproject.toml", "tests/oidc/package.json", "tests/oidc/package-lock.json",
                 "tests/hub/package.json", "tests/hub/package-lock.json"):
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target)
    return tmp_path


def _plan(root: Path, **env: str) -> str:
    """What `make test` would run there (make -n), with its own venv and the PATH given."""
    result = subprocess.run(
        ["make", "-n", "test"], cwd=root, capture_output=True, text=True, timeout=60, env={**os.environ, **env}
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_fresh_clone_installs_the_npm_provider_before_pytest(tmp_path: Path) -> None:
    plan = _plan(_clone(tmp_path))
    assert NPM_CI in plan and "-m pytest" in plan
    assert plan.index(NPM_CI) < plan.index("-m pytest")
    assert NPM_CI_HUB in plan and plan.index(NPM_CI_HUB) < plan.index("-m pytest")  # the hub test's proxy
    assert "pip install --quiet -e '.[test]'" in plan


def test_the_npm_stamp_skips_the_install_until_the_lock_file_changes(tmp_path: Path) -> None:
    root = _clone(tmp_path)
    stamp = root / "tests/oidc/node_modules/.installed-test"
    stamp.parent.mkdir(parents=True)
    stamp.touch()
    assert NPM_CI not in _plan(root)
    later = time.time() + 5
    os.utime(root / "tests/oidc/package-lock.json", (later, later))
    assert NPM_CI in _plan(root)


def test_ci_run_keeps_only_what_needs_root() -> None:
    script = (REPO / ".ci/run").read_text()
    assert "apt-get install" in script and "chromium" in script
    assert "npm ci" not in script and "npm install" not in script and "pip install" not in script
    assert script.rstrip().endswith("make test")
