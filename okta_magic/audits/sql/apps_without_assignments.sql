-- question: Which apps are assigned to nobody, neither a person nor a group?
-- tables: apps, app_user_assignments, app_group_assignments
-- role: Read-only Administrator
-- headline: {rows} of {total} apps are assigned to nobody ({active} of them active)
-- total: SELECT count(*) FROM apps
-- count: active = SELECT count(*) FROM audit WHERE status = 'ACTIVE'
SELECT a.app_id, a.label, a.name, a.status, a.signOnMode, a.created
FROM apps AS a
WHERE NOT EXISTS (SELECT 1 FROM app_user_assignments AS u WHERE u.app_id = a.app_id)
  AND NOT EXISTS (SELECT 1 FROM app_group_assignments AS g WHERE g.app_id = a.app_id)
ORDER BY a.label, a.app_id
