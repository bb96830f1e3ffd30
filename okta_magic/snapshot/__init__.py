"""The org as tables: a local DuckDB snapshot of the directory, synced incrementally, queried with SQL.

    from okta_magic.snapshot.sync import sync_org
    report = sync_org(session, path=None, full=False)      # the org's tables into <host>.duckdb
    from okta_magic.snapshot.sql import connect, query
    query(path, "SELECT count(*) FROM users")              # a pandas DataFrame

One module per job: :mod:`tables` (what each table is: endpoints, scope, admin role, keys, columns, the
incremental rule), :mod:`fetch` (pages pulled through the session's client and the fan-out machinery, its
pacing and rate limits applying), :mod:`store` (the DuckDB file written into a copy and swapped in at the end,
``_tables`` and ``_columns``), :mod:`plan` (what a sync will fetch, cost and need), :mod:`sync` (the engine),
:mod:`sql` (queries, ``{{var}}``), :mod:`entry` (what both front ends call). DuckDB is imported only in this package, and only when a snapshot is used.
"""
