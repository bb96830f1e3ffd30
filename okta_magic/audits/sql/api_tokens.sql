-- question: Which API tokens exist, whose are they and when were they last used?
-- tables: api_tokens, users
-- role: Super or Organization Administrator
-- param: days int 30 days without use
-- headline: {rows} API tokens held by {owners} people; {unused} not used for {days} days, {inactive_owner} owned by someone not active
-- count: owners = SELECT count(DISTINCT owner_id) FROM audit
-- count: unused = SELECT count(*) FROM audit WHERE unused
-- count: inactive_owner = SELECT count(*) FROM audit WHERE owner_status IS DISTINCT FROM 'ACTIVE'
-- An SSWS token acts with its owner's admin role; Okta moves its lastUpdated (and expiresAt, a tokenWindow
-- later) each time it is used, so lastUpdated is its last use.
SELECT t.token_id, t.name, t.user_id AS owner_id, u.login AS owner, u.status AS owner_status,
       t.lastUpdated AS last_used,
       date_diff('day', t.lastUpdated, $as_of::TIMESTAMPTZ) AS days_since_use,
       t.lastUpdated < $as_of::TIMESTAMPTZ - to_days($days::INTEGER) AS unused,
       t.created, t.expiresAt AS expires, t.clientName
FROM api_tokens AS t
LEFT JOIN users AS u ON u.user_id = t.user_id
ORDER BY owner NULLS FIRST, last_used, t.token_id
