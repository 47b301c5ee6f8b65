-- The floor of the caseload page (issue 15): the rows one page shows, in one statement, with nothing decided.
-- The families sorted by name, one page of them: the parent's name, the inputs of the stage (the newest
-- pregnancy, the youngest child), the coordinator and her organisation, the organisations on the team, the newest
-- timeline line, the referrals her organisation sent that are open (and overdue) and her organisation's pathway
-- steps due within the week. Whose families: ``/* whose */`` is replaced by the caseload's candidate condition on
-- an active care-team place ``m`` (``bench/caseload.py`` WHOSE): hers ("mine": ``m.membership_id =
-- %(membership)s``) or any of her organisation's staff's ("organization"). Parameters: %(membership)s,
-- %(organization)s, %(limit)s, %(offset)s, %(now)s, %(week_end)s.
WITH mine AS (
    SELECT f.id, f.sort_name, f.parent_id
    FROM families_family f
    WHERE EXISTS (
        SELECT 1
        FROM families_careteammember m
        JOIN families_careteam t ON t.id = m.care_team_id
        WHERE t.family_id = f.id AND m.left_at IS NULL AND /* whose */
    )
),
page AS (
    SELECT id, sort_name, parent_id FROM mine ORDER BY sort_name, id LIMIT %(limit)s OFFSET %(offset)s
)
SELECT
    page.id,
    coalesce(nullif(p.preferred_name, ''), p.given_name) || ' ' || p.family_name AS parent_name,
    (SELECT count(*) FROM mine) AS families,
    (SELECT e.estimated_due_on FROM families_pregnancyepisode e
      WHERE e.family_id = page.id AND e.delivered_on IS NULL ORDER BY e.estimated_due_on DESC LIMIT 1) AS ongoing_due,
    (SELECT max(e.delivered_on) FROM families_pregnancyepisode e WHERE e.family_id = page.id) AS delivered_on,
    (SELECT max(c.born_on) FROM families_familyrelationship r JOIN families_person c ON c.id = r.person_id
      WHERE r.family_id = page.id AND r.category = 'child') AS youngest_child_born_on,
    (SELECT coalesce(nullif(trim(u.first_name || ' ' || u.last_name), ''), u.username) || ' · ' || o.name
      FROM families_careteammember m
      JOIN families_careteam t ON t.id = m.care_team_id
      JOIN organizations_membership s ON s.id = m.membership_id
      JOIN auth_user u ON u.id = s.user_id
      JOIN organizations_organization o ON o.id = s.organization_id
      WHERE t.family_id = page.id AND m.is_coordinator AND m.left_at IS NULL) AS coordinator,
    (SELECT string_agg(DISTINCT o.name, ', ')
      FROM families_careteammember m
      JOIN families_careteam t ON t.id = m.care_team_id
      JOIN organizations_membership s ON s.id = m.membership_id
      JOIN organizations_organization o ON o.id = s.organization_id
      WHERE t.family_id = page.id AND m.left_at IS NULL) AS organizations,
    (SELECT max(a.occurred_at) FROM families_familyactivity a WHERE a.family_id = page.id) AS last_activity,
    (SELECT count(*) FROM referrals_referral x
      WHERE x.family_id = page.id AND x.created_by_org_id = %(organization)s
        AND x.status IN ('requested', 'received', 'accepted', 'in-progress', 'on-hold')) AS referrals_open,
    (SELECT count(*) FROM referrals_referral x
      WHERE x.family_id = page.id AND x.created_by_org_id = %(organization)s
        AND x.status IN ('requested', 'received') AND x.due_at < %(now)s) AS referrals_overdue,
    (SELECT count(*) FROM pathways_pathwaystep s JOIN pathways_pathwayenrolment n ON n.id = s.enrolment_id
      WHERE s.family_id = page.id AND s.created_by_org_id = %(organization)s AND s.status = 'open'
        AND n.status = 'active' AND s.due_on <= %(week_end)s) AS steps_due
FROM page
JOIN families_person p ON p.id = page.parent_id
ORDER BY page.sort_name, page.id;
