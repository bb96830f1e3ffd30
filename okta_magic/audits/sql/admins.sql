-- question: Who holds an admin role, directly or through a group, with which MFA and when did they last sign in?
-- tables: users, groups, group_members, admin_roles, user_factors
-- role: Read-only Administrator
-- headline: {people} people hold an admin role ({group_only} only through a group); {not_strong} of them without strong MFA
-- count: people = SELECT count(DISTINCT user_id) FROM audit
-- count: group_only = SELECT count(*) FROM (SELECT user_id FROM audit GROUP BY user_id HAVING bool_and(granted <> 'directly'))
-- count: not_strong = SELECT count(DISTINCT user_id) FROM audit WHERE mfa <> 'strong'
-- One row per person and role and the way it is held: a role on a group is held by each of its members.
WITH held AS (
    SELECT user_id, role_type, label AS role, 'directly' AS granted, NULL AS group_id
    FROM admin_roles WHERE assignee_type = 'USER'
    UNION ALL
    SELECT m.user_id, r.role_type, r.label, 'through a group', r.group_id
    FROM admin_roles AS r JOIN group_members AS m ON m.group_id = r.group_id
    WHERE r.assignee_type = 'GROUP'
), mfa AS (
    SELECT user_id, bool_or(factorType NOT IN ('sms', 'call', 'email', 'question')) AS strong
    FROM user_factors WHERE status = 'ACTIVE' GROUP BY user_id
)
SELECT h.user_id, u.login, u.status, h.role, h.role_type, h.granted, g.name AS group_name, h.group_id,
       CASE WHEN mfa.strong THEN 'strong' WHEN mfa.strong IS NOT NULL THEN 'weak only' ELSE 'none' END AS mfa,
       u.lastLogin AS last_sign_in
FROM held AS h
JOIN users AS u ON u.user_id = h.user_id
LEFT JOIN groups AS g ON g.group_id = h.group_id
LEFT JOIN mfa ON mfa.user_id = h.user_id
ORDER BY u.login, h.role, h.granted, group_name
