-- question: Which service apps (machine-to-machine) are granted okta.*.manage scopes?
-- tables: apps, app_grants
-- role: Read-only Administrator
-- headline: {apps} of {total} service apps hold {rows} okta.*.manage scope grants
-- total: SELECT count(*) FROM apps WHERE raw->>'$.settings.oauthClient.application_type' = 'service'
-- count: apps = SELECT count(DISTINCT app_id) FROM audit
-- A service app signs in as itself with a key or secret: a .manage grant is write access to the org for
-- whoever holds that key. Grants: GET /api/v1/apps/{id}/grants (OAuth2ScopeConsentGrant).
SELECT a.app_id, a.label, a.status, g.scopeId AS scope, g.created AS granted, g.source, g.grant_id
FROM app_grants AS g
JOIN apps AS a ON a.app_id = g.app_id
WHERE a.raw->>'$.settings.oauthClient.application_type' = 'service'
  AND g.status = 'ACTIVE' AND g.scopeId LIKE 'okta.%.manage'
ORDER BY a.label, scope
