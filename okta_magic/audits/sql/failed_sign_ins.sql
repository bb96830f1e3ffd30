-- question: Where do failed sign-ins come from over the last N days: by user, by IP address or by country?
-- tables: system_log
-- role: Read-only or Report Administrator
-- param: days int 30 days back
-- param: by choice:user|ip|country user what to count them by
-- log: days
-- rename: key = {by}
-- headline: {failures} failed sign-ins in the last {days} days, counted by {by} ({rows} rows)
-- count: failures = SELECT coalesce(sum(failures), 0) FROM audit
-- Okta's user.session.start events whose outcome is FAILURE (a wrong password, an unknown user, a blocked zone).
SELECT CASE $by WHEN 'user' THEN actor_login WHEN 'ip' THEN client_ip ELSE coalesce(country, 'unknown') END AS key,
       count(*) AS failures,
       count(DISTINCT actor_login) AS users,
       count(DISTINCT client_ip) AS ip_addresses,
       array_to_string(list_sort(list_distinct(list(coalesce(country, 'unknown')))), ', ') AS countries,
       min(published) AS first_failure,
       max(published) AS last_failure
FROM system_log
WHERE eventType = 'user.session.start' AND outcome = 'FAILURE'
  AND published >= $as_of::TIMESTAMPTZ - to_days($days::INTEGER)
GROUP BY 1
ORDER BY failures DESC, key
