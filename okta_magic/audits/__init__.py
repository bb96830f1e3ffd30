"""Questions, not endpoints: audits of the org, each a plain SQL file run over the snapshot.

    from okta_magic.audits import catalog, run, ask
    catalog.get("users_without_mfa")                 # the question, tables, scopes, role, parameters, SQL
    run.run(path, audit, audit.values({"days": 30}))  # over a snapshot file: rows and a headline
    ask.audit(session, "inactive_users", {"days": 90}) # syncing the tables first when the snapshot lacks them

One module per job: :mod:`catalog` (the audits as their ``sql/`` files declare them, and their parameters),
:mod:`run` (one audit over a snapshot file), :mod:`scope` (what an audit needs that a token lacks, and
the explanation), :mod:`ask` (an audit for a signed-in session: the scope check, the sync, the run).
This layer sits above the snapshot and below the front ends: it says nothing in a notebook's or a
script's syntax; the words for each are fix keys of ``okta_magic.advice``.
"""
