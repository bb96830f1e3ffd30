"""Every notebook in notebooks/ executes headless in a real kernel against the sandbox org.

Cells tagged ``raises-exception`` are the lesson's deliberate 403s: they must fail with the
explained one-line message and nothing else may fail. No output may carry a token.
"""

from __future__ import annotations

import datetime as dt
import json
import pathlib
import re
from collections.abc import Callable

import httpx
import nbformat
import pytest

from okta_magic.notebook.demo import NOTEBOOKS, run_notebook, tagged_output

JWT = re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.")
ALL = sorted(NOTEBOOKS.glob("*.ipynb"))


def test_there_are_notebooks_for_the_quickstart_the_lesson_and_the_analysis():
    assert {p.name for p in ALL} >= {"quickstart.ipynb", "teaching-scopes.ipynb", "user-directory-analysis.ipynb"}


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.stem)
def test_committed_notebooks_carry_no_outputs_or_tokens(path: pathlib.Path):
    text = path.read_text(encoding="utf-8")
    assert not JWT.search(text) and "Bearer ey" not in text and '"access_token"' not in text
    nb = nbformat.reads(text, as_version=4)
    assert all(not cell.get("outputs") for cell in nb.cells if cell.cell_type == "code")


def _errors(nb) -> list[tuple[list[str], str]]:
    found = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                found.append((cell.metadata.get("tags", []), f"{output.ename}: {output.evalue}"))
            elif output.output_type == "stream" and output.name == "stderr":
                # IPython shows a UsageError as one stderr line, not as an error output.
                found += [(cell.metadata.get("tags", []), line) for line in output.text.splitlines()
                          if line.startswith("UsageError:")]
    return found


def _outputs_text(nb) -> str:
    return json.dumps([cell.get("outputs", []) for cell in nb.cells])


def _api_tokens(sandbox) -> tuple[tuple[int, int, int, int], set[str]]:
    """The org's API tokens as its super admin reads them over HTTP: the api_tokens audit's headline counts (tokens,
    owners, not used for 30 days, owned by someone not active) and the owners' logins."""
    token = sandbox.issue_token(user="admin", app="native", scopes=["okta.apiTokens.read", "okta.users.read"])
    with httpx.Client(base_url=sandbox.url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
        tokens = http.get("/api/v1/api-tokens").raise_for_status().json()
        owners = {t["userId"]: http.get(f"/api/v1/users/{t['userId']}").raise_for_status().json() for t in tokens}
    cutoff = dt.datetime.fromtimestamp(sandbox.clock(), dt.timezone.utc) - dt.timedelta(days=30)
    unused = sum(dt.datetime.fromisoformat(t["lastUpdated"].replace("Z", "+00:00")) < cutoff for t in tokens)
    inactive = sum(owners[t["userId"]]["status"] != "ACTIVE" for t in tokens)
    return (len(tokens), len(owners), unused, inactive), {o["profile"]["login"] for o in owners.values()}


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.stem)
def test_notebook_executes_against_the_sandbox(path: pathlib.Path, tmp_path: pathlib.Path,
                                               sandbox_factory: Callable[..., object]):
    executed = run_notebook(path, tmp_path)
    nb = nbformat.read(executed, as_version=4)
    errors = _errors(nb)
    unexpected = [e for tags, e in errors if "raises-exception" not in tags]
    assert not unexpected, unexpected
    outputs = _outputs_text(nb)
    assert not JWT.search(outputs) and "Bearer ey" not in outputs
    if path.name == "quickstart.ipynb":
        head = tagged_output(executed, "users-head")
        assert "profile.login" in head and "@example.com" in head
    if path.name == "user-directory-analysis.ipynb":
        # Every admin, through iam/assignees/users and group-assigned roles; MFA coverage; failures by country.
        found = re.search(r"(\d+) admins; (\d+) of them hold a role only through a group", outputs)
        assert found and int(found.group(1)) > 7 and int(found.group(2)) > 0
        assert "Report Administrator" in outputs and "SMS or email only" in outputs
        assert "active admins without strong MFA" in outputs and "helpdesk@example.com" in outputs
        # The headline findings come from the audits, each under its one-line headline.
        assert re.search(r"\d+ of \d+ active users have no MFA factor", outputs)
        assert re.search(r"\d+ people hold an admin role \(\d+ only through a group\)", outputs)
        assert re.search(r"\d+ failed sign-ins in the last 30 days, counted by country", outputs)
        assert "syncing them first" in outputs  # the first audit said what it would fetch
        # The org as tables: the admins-and-apps question in one SQL query finds the same admins as the API walk.
        reach = re.search(r"(\d+) admins can reach (\d+) app assignments between them", outputs)
        assert reach and reach.group(1) == found.group(1) and int(reach.group(2)) > 0, (reach, found.group(0))
        # API tokens, as the super admin's profile: the tokens the org lists (a sandbox like the notebook's, the
        # kernel's default users and seed), each owner by login; the read-only admin stays the active profile.
        counts, owners = _api_tokens(sandbox_factory(users=1000, seed=1))
        tokens = re.search(r"(\d+) API tokens held by (\d+) people; (\d+) not used for 30 days, (\d+) owned by "
                           r"someone not active", outputs)
        assert tokens and tuple(map(int, tokens.groups())) == counts, (tokens, counts)
        table = tagged_output(executed, "audit-api-tokens")
        assert owners and all(login in table for login in owners), (owners, table)
        assert "Profile default is active" in outputs  # the read-only admin's requests again from here on
    if path.name == "teaching-scopes.ipynb":
        # The deliberate failures are the lesson: a missing scope, then silent downscoping; then an audit's
        # missing scope (the sign-in that adds it) and the role it needs beyond the scope.
        assert len(errors) == 4
        assert "%okta_login --profile auditor --scopes 'openid okta.users.read okta.groups.read okta.roles.read'" \
            in errors[2][1]
        assert "403 E0000006" in errors[3][1] and "Read-only Administrator role" in errors[3][1]
        assert "Read-only Administrator" in tagged_output(executed, "audit-admins") and "through a group" in outputs
        assert "okta.roles.read  (LACKING)" in outputs  # %okta_audit admins --explain
        assert "okta.groups.read" in errors[0][1] and "%okta_login --scopes" in errors[0][1]
        assert "E0000006" in errors[1][1]
        assert "curl" in outputs and "code_challenge" in outputs  # the --explain view ran
        # Two profiles side by side: the same scopes, and each role's answers to the same requests.
        table = tagged_output(executed, "profiles-table").splitlines()
        rows = {line.split()[0] + " " + line.split()[1]: line.split()[2:] for line in table[1:]}
        assert rows["GET /api/v1/users?limit=5"] == ["200", "200"]
        assert rows["GET /api/v1/logs?limit=5"] == ["200", "403", "E0000006"]  # readonly, helpdesk
        assert rows["POST /api/v1/users/{id}/lifecycle/unsuspend"] == ["403", "E0000006", "200"]
        assert "Profile helpdesk is active" in outputs and "(not signed in)" in outputs
        # A second role: the report admin reads the System Log but not who holds roles; the super admin reads both.
        second = {line.split()[0] + " " + line.split()[1]: line.split()[2:]
                  for line in tagged_output(executed, "second-role").splitlines()[1:]}
        assert second["GET /api/v1/logs?limit=5"] == ["200", "200"]
        assert second["GET /api/v1/iam/assignees/users"] == ["403", "E0000006", "200"]
        # Refresh with offline_access: a 120 s token, the sandbox clock moved on, a new token without a browser.
        assert "access token lasts 120 s; refresh token: True" in outputs and "refreshed: True" in outputs
