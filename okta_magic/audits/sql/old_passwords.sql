-- question: Which active users last changed their password more than N days ago?
-- tables: users
-- role: Read-only Administrator
-- param: days int 365 days since the last password change
-- headline: {rows} of {total} active users with a password last changed it over {days} days ago
-- total: SELECT count(*) FROM users WHERE status = 'ACTIVE' AND passwordChanged IS NOT NULL
-- People without a password (federated, passwordless) have no passwordChanged and are not counted.
SELECT user_id, login, status, passwordChanged AS password_changed,
       date_diff('day', passwordChanged, $as_of::TIMESTAMPTZ) AS days_since_change
FROM users
WHERE status = 'ACTIVE' AND passwordChanged < $as_of::TIMESTAMPTZ - to_days($days::INTEGER)
ORDER BY password_changed, login
