"""``%okta_sync`` and ``%okta_sql`` / ``%%okta_sql``: how their lines are read (the snapshot layer does the work).

    %okta_sync                         the signed-in org into <host>.duckdb, incrementally
    %okta_sync --full --since 30d      every table afresh; the System Log's first pull from 30 days back
    %okta_sync --plan                  what it would fetch, the requests it expects, the scopes it lacks
    %okta_sync --to org.duckdb -p helpdesk users groups
    %okta_sync --format parquet --to DIR   then every table as a Parquet dataset under DIR (for Spark, polars)
    %%okta_sql -o admins               DuckDB SQL over the snapshot ({{var}} from the notebook), a DataFrame
    SELECT ...

:func:`add_magics` puts both into the extension's own magics table before it is registered, so that
``%unload_ext`` takes them out with the others.
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
from typing import Any

from okta_magic.errors import ConfigError

__all__ = ["add_magics", "sync_line", "sql_cell", "SQL_OPTIONS", "option_strings"]

# %okta_sql's options, each taking a value: the one list, which sql_cell reads (%okta_sync's are its parser)
SQL_OPTIONS = ("-o", "--snapshot", "-p")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse would exit the kernel
        raise ConfigError(f"{self.prog}: {message}.")


def _sync_parser() -> _Parser:
    parser = _Parser(prog="%okta_sync", add_help=False)
    parser.add_argument("tables", nargs="*")
    parser.add_argument("--plan", action="store_true")
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--to", dest="path")
    parser.add_argument("--format", choices=("duckdb", "parquet"), default="duckdb")
    parser.add_argument("--snapshot")
    parser.add_argument("--since")
    parser.add_argument("-p", "--profile")
    return parser


def option_strings() -> set[str]:
    """Every option of ``%okta_sync`` and ``%okta_sql``, from their one declaration each (tests/test_layout.py keeps
    them out of the layers under the notebook, where a script user would read them too)."""
    return {option for action in _sync_parser()._actions for option in action.option_strings} | set(SQL_OPTIONS)


def _words(line: str) -> list[str]:
    try:
        return shlex.split(line)
    except ValueError as exc:
        raise ConfigError(f"Cannot read the line ({str(exc).lower()}): close each quote you open.") from None


def sync_line(magics: Any, line: str) -> Any:
    """``%okta_sync [--plan] [--full] [--to PATH] [--format parquet [--snapshot PATH]] [--since WHEN] [-p NAME]
    [TABLE ...]``: with ``--format parquet``, ``--to`` names the Parquet directory, ``--snapshot`` the DuckDB file."""
    from okta_magic.notebook.magics import user_errors
    from okta_magic.snapshot.entry import sync_as_asked

    with user_errors():
        args = _sync_parser().parse_args(_words(line))
    session = magics._profile(args.profile)
    parquet = args.format == "parquet"
    with user_errors(session):
        return sync_as_asked(session, args.snapshot if parquet else args.path, full=args.full, since=args.since,
                             tables=args.tables or None, plan=args.plan, parquet=parquet,
                             parquet_dir=args.path if parquet else None,
                             say=lambda text: print(text, file=sys.stderr))


def sql_cell(magics: Any, line: str, cell: str | None = None) -> Any:
    """``%okta_sql [-o NAME] [--snapshot PATH] [-p NAME] SELECT ...``, or the SQL in the cell below the line."""
    from okta_magic.notebook.magics import user_errors
    from okta_magic.snapshot.sql import query

    words, options = line.split(), dict.fromkeys(SQL_OPTIONS)
    while words and words[0] in options and len(words) > 1:
        options[words[0]] = words[1].strip("'\"")
        words = words[2:]
    stray = words if cell is not None else words[:1] if words and re.match(r"--?[A-Za-z]", words[0]) else []
    if stray:  # an unknown option, or words the cell's SQL would silently leave out
        from okta_magic.errors import RequestError

        with user_errors():
            raise RequestError(f"Unknown option or word {stray[0]!r} on the %okta_sql line: it takes -o NAME, "
                               "--snapshot PATH and -p NAME, then the SQL (in the cell below for %%okta_sql).")
    text = cell if cell is not None else " ".join(words)
    session = magics._profile(options["-p"])
    with user_errors(session):
        from okta_magic.snapshot.sync import path_for

        frame = query(path_for(session, options["--snapshot"]), text, magics.shell.user_ns)
    if options["-o"]:
        magics.shell.user_ns[options["-o"]] = frame
    return frame


def add_magics(magics: Any) -> None:
    """Add ``okta_sync`` (line) and ``okta_sql`` (line and cell) to the extension's magics table."""
    from okta_magic.notebook.options import bound

    magics.magics["line"]["okta_sync"] = bound(sync_line, magics)
    magics.magics["line"]["okta_sql"] = magics.magics["cell"]["okta_sql"] = bound(sql_cell, magics)
