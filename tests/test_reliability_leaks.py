"""Reliability: a leak hunt through every notebook, its logs, its widgets and its tracebacks.

Every notebook in notebooks/ is executed headless in a real kernel against the sandbox org (as
``test_notebooks`` does), with cells added around it:

* before it: every logger of the process (okta_magic, httpx, httpcore, uvicorn, asyncio, the
  sandbox ...) made to emit at DEBUG, each record written to a file whatever the logger's own level,
  handlers or ``propagate``; ``%xmode Verbose``, so tracebacks show every frame's local variables;
  and a note of every token okta_magic builds;
* after it: failing requests whose Verbose tracebacks are kept (a token revoked with no refresh
  token; after a sign-in through the panel finished by pasting the redirect URL into it, a 404, an
  httpx ``raise_for_status``, a host that is not the org, a revoked token refreshed on its 401, one
  whose refresh is refused too, an expired one whose refresh is refused: a chained exception); and
  the last cell asks the in-kernel sandbox which secrets exist.

The secrets are every access, refresh and ID token the sandbox minted or okta_magic held, the
authorization codes, the demo apps' client secret and private key, the sandbox's own signing key,
every DPoP private key, every SSWS API token and the demo users' passwords (published with the
sandbox, but never typed into a kernel, so they must not appear either). They are looked for,
whole and by their JWT segments, in four places per notebook: the saved outputs, the widget
states saved with it, the DEBUG log and the Verbose tracebacks. Each place of each notebook
holds when nothing is found. Figures go to docs/reliability.md through ``reliability.record``.
"""

from __future__ import annotations

import json
import pathlib
import re
from collections import Counter
from typing import Any

import nbformat
import pytest
from reliability import record

from okta_magic.notebook.demo import NOTEBOOKS, run_notebook

ALL = sorted(NOTEBOOKS.glob("*.ipynb"))
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]*")
PLACES = ("outputs", "widget states", "DEBUG log", "Verbose tracebacks")

BEFORE = '''\
import logging as _hunt_logging
_hunt_handler = _hunt_logging.FileHandler({log!r}, encoding="utf-8")
_hunt_handler.setFormatter(_hunt_logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
_hunt_handle = _hunt_logging.Logger.handle


def _hunt_every_record(self, record):
    _hunt_handler.handle(record)  # every record of every logger, whatever its handlers and propagate say
    return _hunt_handle(self, record)


_hunt_logging.Logger.handle = _hunt_every_record
_hunt_logging.Logger.isEnabledFor = lambda self, level: True  # DEBUG everywhere, whatever a logger's level
_hunt_logging.disable(_hunt_logging.NOTSET)

from okta_magic import tokens as _hunt_tokens
_hunt_seen = []
for _hunt_name in ("from_token_response", "from_access_token", "from_api_token"):
    def _hunt_wrap(cls, *args, _hunt_make=getattr(_hunt_tokens.Token, _hunt_name).__func__, **kwargs):
        made = _hunt_make(cls, *args, **kwargs)
        _hunt_seen.append(made)
        return made
    setattr(_hunt_tokens.Token, _hunt_name, classmethod(_hunt_wrap))
get_ipython().run_line_magic("xmode", "Verbose")
'''

# Each (source, how it ends): "ok", "traceback" (kept, Verbose) or "usage" (the magics' one line).
AFTER: list[tuple[str, str]] = [
    ("%okta_login --profile default", "ok"),  # a notebook may end on a named profile; the hunt uses the default
    ('%okta_login --sandbox --as readonly --scopes "openid okta.users.read"', "ok"),
    ('''\
import okta_magic
from okta_magic.oauth import revocation as _hunt_revocation
_hunt_session = okta_magic.current_session()


def _hunt_revoke(*kinds):
    """Revoke the session's tokens at the sandbox, as an admin (or a password change) would."""
    token, conf = _hunt_session.token, _hunt_session.config
    for kind in kinds:
        _hunt_revocation.revoke_token(conf.org_url, conf.client_id, token, kind)


_hunt_revoke("access_token")''', "ok"),
    ('okta_magic.get("/api/v1/users", limit=1)', "traceback"),  # 401, no refresh token
    ('%okta_login --sandbox --app offline --scopes "openid offline_access okta.users.read okta.groups.read"', "ok"),
    ('''\
import gc, http.client, urllib.parse
_hunt_panel = next(o for o in gc.get_objects() if type(o).__name__ == "LoginPanel")
_hunt_url = urllib.parse.urlsplit(_hunt_session.flow.authorize_url + "&sandbox_user=admin")
_hunt_browser = http.client.HTTPConnection(_hunt_url.hostname, _hunt_url.port)  # a browser: outside the logs
_hunt_browser.request("GET", f"{_hunt_url.path}?{_hunt_url.query}")
_hunt_panel.paste.value = _hunt_browser.getresponse().getheader("location")  # pasted from the address bar
print(_hunt_session.current_token())''', "ok"),
    ('okta_magic.get("/api/v1/users/00unosuchuser00000000")', "traceback"),
    ('%okta GET /api/v1/users/00unosuchuser00000000', "usage"),
    ('''\
with okta_magic.http_client() as _hunt_http:
    _hunt_http.get("/api/v1/users/00unosuchuser00000000").raise_for_status()''', "traceback"),
    ('okta_magic.request("GET https://other.example.com/api/v1/users")', "traceback"),
    ('_hunt_revoke("access_token")\nokta_magic.get("/api/v1/groups", limit=1)', "ok"),  # refreshed on the 401
    ('_hunt_revoke("refresh_token", "access_token")\nokta_magic.get("/api/v1/groups", limit=1)', "traceback"),
    # An hour later by this kernel's clock: expired, and the refresh refused (a chained exception).
    ('_hunt_session._keeper._clock = lambda: __import__("time").time() + 7200\nokta_magic.get("/api/v1/groups")',
     "traceback"),
    ('''\
import json, os, jwt
from okta_magic.sandbox.tokens import private_pem
_hunt_sb = _hunt_session.sandbox
_hunt_state = _hunt_sb._state


def _hunt_d(key):
    return jwt.algorithms.ECAlgorithm.to_jwk(key._key, as_dict=True)["d"]


def _hunt_pem(text):
    return [line for line in (text or "").splitlines() if line and not line.startswith("-----")]


_hunt_found = {
    "access tokens": list(_hunt_state.authority._cache) + [t.access_token for t in _hunt_seen],
    "refresh tokens": list(_hunt_state.grants.refresh) + [t.refresh_token for t in _hunt_seen if t.refresh_token],
    "ID tokens": [t.id_token for t in _hunt_seen if t.id_token],
    "authorization codes": list(_hunt_state.grants.codes),
    "device codes": list(_hunt_state.grants.devices),
    "SSWS API tokens": list(_hunt_state.directory.api_tokens),
    "client secrets": [a.client_secret for a in _hunt_sb.apps.values() if a.client_secret],
    "private key lines": [line for a in _hunt_sb.apps.values() for line in _hunt_pem(a.private_key_pem)]
                    + _hunt_pem(private_pem(_hunt_state.authority._key)),
    "DPoP private keys": [_hunt_d(t.dpop_key) for t in _hunt_seen if t.dpop_key is not None],
    "demo passwords": [u.password for u in _hunt_sb.demo_users.values()],
}
_hunt_fd = os.open(SECRETS_PATH, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
with os.fdopen(_hunt_fd, "w") as _hunt_out:
    json.dump(_hunt_found, _hunt_out)''', "ok"),
]


def _instrumented(source: pathlib.Path, work: pathlib.Path) -> pathlib.Path:
    """A copy of the notebook with the hunt's cells before and after it."""
    nb = nbformat.read(source, as_version=4)
    log, secrets = work / "debug.log", work / "secrets.json"
    before = nbformat.v4.new_code_cell(BEFORE.format(log=str(log)), metadata={"tags": ["hunt"]})
    after = []
    for text, ends in AFTER:
        tags = ["hunt"] if ends == "ok" else ["hunt", "raises-exception"]
        text = text.replace("SECRETS_PATH", repr(str(secrets)))
        after.append(nbformat.v4.new_code_cell(text, metadata={"tags": tags}))
    nb.cells = [before, *nb.cells, *after]
    target = work / source.name
    nbformat.write(nb, target)
    return target


def _needles(found: dict[str, list[str]]) -> list[tuple[str, str]]:
    """(kind, text) to look for: each secret whole, and a JWT's payload and signature on their own."""
    needles: set[tuple[str, str]] = set()
    for kind, values in found.items():
        for value in values:
            if not value or len(value) < 8:
                continue
            needles.add((kind, value))
            parts = value.split(".")
            if len(parts) == 3 and value.startswith("eyJ"):
                needles.update((kind, part) for part in parts[1:] if len(part) >= 16)
    return sorted(needles)


def _places(executed: pathlib.Path, log: pathlib.Path) -> dict[str, str]:
    """The four places a secret must not reach, as text."""
    nb = nbformat.read(executed, as_version=4)
    outputs, tracebacks = [], []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                tracebacks.append("\n".join(output.get("traceback", [])) + output.get("evalue", ""))
            else:
                outputs.append(json.dumps(output))
    return {
        "outputs": "\n".join(outputs),
        "widget states": json.dumps(nb.metadata.get("widgets", {})),
        "DEBUG log": log.read_text(encoding="utf-8", errors="replace") if log.exists() else "",
        "Verbose tracebacks": "\n".join(tracebacks),
    }


def _where(text: str, secret: str) -> str:
    """Where a secret was found, with the secret itself (and any other JWT) blanked out."""
    at = text.find(secret)
    context = text[max(0, at - 120): at + len(secret) + 60].replace(secret, "[SECRET]")
    return JWT.sub("[JWT]", context)


RESULTS: dict[str, dict[str, Any]] = {}


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.stem)
def test_no_secret_reaches_outputs_widgets_logs_or_tracebacks(path: pathlib.Path, tmp_path: pathlib.Path) -> None:
    instrumented = _instrumented(path, tmp_path)
    executed = run_notebook(instrumented, tmp_path / "out", timeout=180)
    secrets_file = tmp_path / "secrets.json"
    found = json.loads(secrets_file.read_text())
    secrets_file.unlink()  # the test's own copy of the sandbox's secrets goes at once
    places = _places(executed, tmp_path / "debug.log")
    needles = _needles(found)
    nb = nbformat.read(executed, as_version=4)
    hunt_errors = [o for c in nb.cells if "hunt" in c.metadata.get("tags", []) for o in c.get("outputs", [])
                   if o.get("output_type") == "error"]
    leaks = [(place, kind, _where(text, needle)) for place, text in places.items()
             for kind, needle in needles if needle in text]
    leaks += [(place, "a JWT", _where(text, match.group(0))) for place, text in places.items()
              for match in JWT.finditer(text)]
    kinds = Counter({kind: len({v for v in values if v}) for kind, values in found.items()})
    RESULTS[path.stem] = {"leaks": leaks, "kinds": kinds, "needles": len(needles), "tracebacks": len(hunt_errors),
                          "sizes": {p: len(t) for p, t in places.items()}}
    # The hunt must really have looked: secrets of every main kind, and every place filled.
    assert kinds["access tokens"] and kinds["refresh tokens"] and kinds["ID tokens"] and kinds["private key lines"]
    assert kinds["authorization codes"] and kinds["client secrets"], kinds
    assert all(places.values()), {p: len(t) for p, t in places.items()}
    assert len(hunt_errors) == sum(ends == "traceback" for _, ends in AFTER), [o.get("ename") for o in hunt_errors]
    pasted = next(c for c in nb.cells if "_hunt_panel.paste.value" in c.source)
    assert "offline_access" in json.dumps(pasted.get("outputs", []))  # the panel's paste-back signed in
    last = "\n".join(hunt_errors[-1].get("traceback", []))
    assert hunt_errors[-1].get("ename") == "TokenExpired" and "TokenExchangeError" in last  # the chained refusal
    assert not leaks, "\n".join(f"{place}: {kind}: …{where}…" for place, kind, where in leaks)


def test_record_the_leak_hunt() -> None:
    """Write the figures of the notebooks hunted in this run (run after them)."""
    if not RESULTS:
        pytest.skip("no notebook was hunted in this run")
    tried = len(RESULTS) * len(PLACES)
    held = sum(1 for result in RESULTS.values() for place in PLACES
               if not any(leak[0] == place for leak in result["leaks"]))
    totals: Counter[str] = Counter()
    for result in RESULTS.values():
        totals.update(result["kinds"])
    rows = []
    for name, result in RESULTS.items():
        sizes = result["sizes"]
        found = len(result["leaks"])
        rows.append((f"{name}.ipynb", f"{sum(result['kinds'].values())} secrets ({result['needles']} strings) "
                     f"looked for in "
                     f"{sizes['outputs'] // 1000} KB of outputs, {sizes['widget states'] // 1000} KB of widget "
                     f"state, {sizes['DEBUG log'] // 1000} KB of DEBUG log and {result['tracebacks']} Verbose "
                     f"tracebacks ({sizes['Verbose tracebacks'] // 1000} KB): "
                     + ("nothing found" if not found else f"{found} found")))
    record(
        "test_reliability_leaks",
        "Leak hunt",
        tried,
        held,
        "Every notebook in notebooks/ is executed in a real kernel against the sandbox org with every logger at "
        "DEBUG (each record written to a file whatever the logger's level, handlers or propagate), `%xmode "
        "Verbose` (tracebacks with every frame's local variables), and cells added after it: failing requests "
        "(a token revoked without a refresh token; then, after a sign-in through the panel finished by pasting "
        "the redirect URL into it, a 404, an httpx `raise_for_status`, another host, a revoked token refreshed on "
        "its 401, one whose refresh is refused too, an expired one whose refresh is refused: a chained "
        "exception). The in-kernel sandbox then lists every secret; in all, "
        + ", ".join(f"{kind}: {n}" for kind, n in sorted(totals.items()) if n)
        + " (private keys counted by PEM line; JWTs are also looked for by payload and by signature). Each of "
        "them, and anything shaped like a JWT, is looked for in four places per notebook: saved outputs, saved widget states, the DEBUG log and "
        "the Verbose tracebacks. A place holds when nothing is found.",
        rows,
    )
    assert held == tried
