-- question: Whose MFA factors were reset in the last N days, and by whom (System Log)?
-- tables: system_log
-- role: Read-only or Report Administrator
-- param: days int 30 days back
-- log: days
-- headline: {rows} MFA factor resets in the last {days} days, for {people} people
-- count: people = SELECT count(DISTINCT user_id) FROM audit
-- user.mfa.factor.reset_all (every factor) and user.mfa.factor.deactivate (one factor): a help desk's reset is
-- how an attacker who called the help desk gets to enrol their own phone.
WITH events AS (
    SELECT uuid, published, eventType, actor_login, unnest(from_json(targets, '["JSON"]')) AS t
    FROM system_log
    WHERE eventType IN ('user.mfa.factor.reset_all', 'user.mfa.factor.deactivate')
      AND published >= $as_of::TIMESTAMPTZ - to_days($days::INTEGER)
)
SELECT max(CASE WHEN t->>'$.type' = 'User' THEN t->>'$.id' END) AS user_id,
       max(CASE WHEN t->>'$.type' = 'User' THEN t->>'$.alternateId' END) AS login,
       CASE WHEN eventType = 'user.mfa.factor.reset_all' THEN 'all factors' ELSE 'one factor' END AS reset,
       max(CASE WHEN t->>'$.type' = 'Factor' THEN t->>'$.displayName' END) AS factor,
       published, actor_login AS reset_by, uuid
FROM events
GROUP BY uuid, published, eventType, actor_login
ORDER BY published DESC, uuid
