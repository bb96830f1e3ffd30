-- question: Which admin roles were granted in the last N days, to whom and by whom (System Log)?
-- tables: system_log
-- role: Read-only or Report Administrator
-- param: days int 30 days back
-- log: days
-- headline: {rows} admin roles granted in the last {days} days ({to_groups} of them to groups)
-- count: to_groups = SELECT count(*) FROM audit WHERE granted_to = 'group'
-- Okta's events user.account.privilege.grant and group.privilege.grant: targets are the assignee and the ROLE.
WITH events AS (
    SELECT uuid, published, eventType, actor_login, unnest(from_json(targets, '["JSON"]')) AS t
    FROM system_log
    WHERE eventType IN ('user.account.privilege.grant', 'group.privilege.grant')
      AND published >= $as_of::TIMESTAMPTZ - to_days($days::INTEGER)
)
SELECT max(CASE WHEN t->>'$.type' IN ('User', 'UserGroup') THEN t->>'$.id' END) AS assignee_id,
       max(CASE WHEN t->>'$.type' = 'User' THEN t->>'$.alternateId'
                WHEN t->>'$.type' = 'UserGroup' THEN t->>'$.displayName' END) AS assignee,
       CASE WHEN eventType = 'group.privilege.grant' THEN 'group' ELSE 'user' END AS granted_to,
       max(CASE WHEN t->>'$.type' = 'ROLE' THEN t->>'$.displayName' END) AS role,
       max(CASE WHEN t->>'$.type' = 'ROLE' THEN t->>'$.alternateId' END) AS role_type,
       published, actor_login AS granted_by, uuid
FROM events
GROUP BY uuid, published, eventType, actor_login
ORDER BY published DESC, uuid
