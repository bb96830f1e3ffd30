-- question: Which active users have no MFA factor enrolled?
-- tables: users, user_factors
-- role: Read-only Administrator
-- headline: {rows} of {total} active users have no MFA factor
-- total: SELECT count(*) FROM users WHERE status = 'ACTIVE'
-- A factor counts when it is ACTIVE (an enrolment waiting for activation protects nothing yet).
SELECT u.user_id, u.login, u.status, u.lastLogin AS last_sign_in, u.created
FROM users AS u
WHERE u.status = 'ACTIVE'
  AND NOT EXISTS (SELECT 1 FROM user_factors AS f WHERE f.user_id = u.user_id AND f.status = 'ACTIVE')
ORDER BY u.login
