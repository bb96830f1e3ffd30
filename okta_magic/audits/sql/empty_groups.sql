-- question: Which groups have no members?
-- tables: groups, group_members
-- role: Read-only Administrator
-- headline: {rows} of {total} groups have no members
-- total: SELECT count(*) FROM groups
-- Members as the group's member list holds them (groups/{id}/users), not the group's cached usersCount.
SELECT g.group_id, g.name, g.type, g.description, g.created, g.lastMembershipUpdated
FROM groups AS g
WHERE NOT EXISTS (SELECT 1 FROM group_members AS m WHERE m.group_id = g.group_id)
ORDER BY g.name, g.group_id
