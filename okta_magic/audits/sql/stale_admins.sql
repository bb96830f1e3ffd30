-- question: Which admins (directly or through a group) have not signed in for N days?
-- tables: users, groups, group_members, admin_roles
-- role: Read-only Administrator
-- param: days int 30 days without a sign-in
-- headline: {rows} of {total} admins have not signed in for {days} days ({never} never signed in)
-- total: SELECT count(DISTINCT user_id) FROM (SELECT user_id FROM admin_roles WHERE assignee_type = 'USER' UNION SELECT m.user_id FROM admin_roles AS r JOIN group_members AS m ON m.group_id = r.group_id WHERE r.assignee_type = 'GROUP') JOIN users USING (user_id)
-- count: never = SELECT count(*) FROM audit WHERE never_signed_in
-- An admin role nobody uses is standing privilege: remove it or find out why.
WITH held AS (
    SELECT user_id, label AS role FROM admin_roles WHERE assignee_type = 'USER'
    UNION ALL
    SELECT m.user_id, r.label FROM admin_roles AS r JOIN group_members AS m ON m.group_id = r.group_id
    WHERE r.assignee_type = 'GROUP'
)
SELECT u.user_id, u.login, u.status,
       array_to_string(list_sort(list_distinct(list(h.role))), ', ') AS roles,
       u.lastLogin IS NULL AS never_signed_in,
       u.lastLogin AS last_sign_in,
       date_diff('day', u.lastLogin, $as_of::TIMESTAMPTZ) AS days_since_sign_in
FROM held AS h JOIN users AS u ON u.user_id = h.user_id
WHERE u.lastLogin IS NULL OR u.lastLogin < $as_of::TIMESTAMPTZ - to_days($days::INTEGER)
GROUP BY u.user_id, u.login, u.status, u.lastLogin
ORDER BY never_signed_in DESC, last_sign_in NULLS FIRST, u.login
