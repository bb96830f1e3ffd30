-- question: Which users belong to no group but Everyone?
-- tables: users, groups, group_members
-- role: Read-only Administrator
-- headline: {rows} of {total} users (deactivated ones aside) belong to no group but Everyone
-- total: SELECT count(*) FROM users WHERE status <> 'DEPROVISIONED'
-- Everyone is Okta's BUILT_IN group: every user is in it, so it says nothing about a person's access.
SELECT u.user_id, u.login, u.status, u.created, u.lastLogin AS last_sign_in
FROM users AS u
WHERE u.status <> 'DEPROVISIONED'
  AND NOT EXISTS (SELECT 1 FROM group_members AS m JOIN groups AS g ON g.group_id = m.group_id
                  WHERE m.user_id = u.user_id AND g.type <> 'BUILT_IN')
ORDER BY u.login
