-- question: Which active users have only weak factors (SMS, voice call, email, security question)?
-- tables: users, user_factors
-- role: Read-only Administrator
-- headline: {rows} of {total} active users have only weak factors (SMS, voice, email, security question)
-- total: SELECT count(*) FROM users WHERE status = 'ACTIVE'
-- Weak: factors a phished password and a SIM swap or a mailbox defeat (Okta factorType sms, call, email, question).
SELECT u.user_id, u.login, u.status,
       array_to_string(list_sort(list_distinct(list(f.factorType))), ', ') AS factors,
       u.lastLogin AS last_sign_in
FROM users AS u
JOIN user_factors AS f ON f.user_id = u.user_id AND f.status = 'ACTIVE'
WHERE u.status = 'ACTIVE'
GROUP BY u.user_id, u.login, u.status, u.lastLogin
HAVING bool_and(f.factorType IN ('sms', 'call', 'email', 'question'))
ORDER BY u.login
