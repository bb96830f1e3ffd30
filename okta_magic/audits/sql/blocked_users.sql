-- question: Which users are suspended, locked out or have an expired password?
-- tables: users
-- role: Read-only Administrator
-- headline: {rows} users cannot sign in as they are: {suspended} suspended, {locked} locked out, {expired} with an expired password
-- count: suspended = SELECT count(*) FROM audit WHERE status = 'SUSPENDED'
-- count: locked = SELECT count(*) FROM audit WHERE status = 'LOCKED_OUT'
-- count: expired = SELECT count(*) FROM audit WHERE status = 'PASSWORD_EXPIRED'
SELECT user_id, login, status, statusChanged AS since, lastLogin AS last_sign_in
FROM users
WHERE status IN ('SUSPENDED', 'LOCKED_OUT', 'PASSWORD_EXPIRED')
ORDER BY status, login
