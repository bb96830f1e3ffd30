-- question: Which active users have not signed in for N days, and which never have?
-- tables: users
-- role: Read-only Administrator
-- param: days int 90 days without a sign-in
-- headline: {rows} of {total} active users have not signed in for {days} days ({never} of them never signed in)
-- total: SELECT count(*) FROM users WHERE status = 'ACTIVE'
-- count: never = SELECT count(*) FROM audit WHERE never_signed_in
-- An active account nobody uses is a door nobody watches (lastLogin: Okta's last successful sign-in).
SELECT user_id, login, status,
       lastLogin IS NULL AS never_signed_in,
       lastLogin AS last_sign_in,
       date_diff('day', lastLogin, $as_of::TIMESTAMPTZ) AS days_since_sign_in,
       created
FROM users
WHERE status = 'ACTIVE'
  AND (lastLogin IS NULL OR lastLogin < $as_of::TIMESTAMPTZ - to_days($days::INTEGER))
ORDER BY never_signed_in DESC, last_sign_in NULLS FIRST, login
