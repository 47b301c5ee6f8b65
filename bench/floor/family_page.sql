-- The floor of the family page (issue 15): what the page shows of one family, in one statement, with nothing
-- decided: the parent, the people of her family, her pregnancies, the active care team with names and
-- organisations, the newest 50 timeline lines, her newest 100 notes and her consents with their versions.
-- The policy's facts of the family are ``consent_facts.sql``. Parameter: %(family)s.
SELECT
    f.id,
    (SELECT json_build_array(p.given_name, p.preferred_name, p.family_name, p.pronouns, p.born_on,
            p.preferred_language, p.phone, p.postal_code, p.county, p.insurance, p.created_by_org_id, p.sensitivity)
      FROM families_person p WHERE p.id = f.parent_id) AS parent,
    (SELECT json_agg(json_build_array(r.id, r.category, r.description, r.is_legal_representative,
            q.given_name, q.preferred_name, q.family_name, q.born_on, r.created_by_org_id, r.sensitivity,
            q.created_by_org_id, q.sensitivity) ORDER BY r.category, q.born_on, r.id)
      FROM families_familyrelationship r JOIN families_person q ON q.id = r.person_id
      WHERE r.family_id = f.id) AS members,
    (SELECT json_agg(json_build_array(e.id, e.estimated_due_on, e.delivered_on, e.outcome, e.created_by_org_id,
            e.sensitivity) ORDER BY e.estimated_due_on DESC)
      FROM families_pregnancyepisode e WHERE e.family_id = f.id) AS pregnancies,
    (SELECT json_agg(json_build_array(m.id, m.role, m.is_coordinator, m.joined_at, u.first_name, u.last_name,
            o.name, o.type, m.created_by_org_id, m.sensitivity) ORDER BY m.is_coordinator DESC, m.joined_at)
      FROM families_careteammember m
      JOIN families_careteam t ON t.id = m.care_team_id
      JOIN organizations_membership s ON s.id = m.membership_id
      JOIN auth_user u ON u.id = s.user_id
      JOIN organizations_organization o ON o.id = s.organization_id
      WHERE t.family_id = f.id AND m.left_at IS NULL) AS team,
    (SELECT json_agg(line) FROM (
        SELECT json_build_array(a.id, a.occurred_at, a.verb, a.summary, a.kind, a.created_by_org_id, a.sensitivity,
               a.consent_directive_id, o.name, u.first_name, u.last_name) AS line
        FROM families_familyactivity a
        JOIN organizations_organization o ON o.id = a.created_by_org_id
        LEFT JOIN auth_user u ON u.id = a.created_by_id
        WHERE a.family_id = f.id ORDER BY a.occurred_at DESC LIMIT 50) lines) AS timeline,
    (SELECT json_agg(note) FROM (
        SELECT json_build_array(n.id, n.kind, n.occurred_on, n.summary, n.body, n.created_by_org_id, n.sensitivity,
               o.name) AS note
        FROM notes_note n JOIN organizations_organization o ON o.id = n.created_by_org_id
        WHERE n.family_id = f.id ORDER BY n.occurred_on DESC, n.id DESC LIMIT 100) notes) AS notes,
    (SELECT json_agg(json_build_array(d.id, d.title, d.revoked_at, d.created_by_org_id, d.sensitivity,
            (SELECT json_agg(json_build_array(v.number, v.purposes, v.categories, v.effective_at, v.expires_at,
                    v.signer_name) ORDER BY v.number)
              FROM consent_consentversion v WHERE v.directive_id = d.id)) ORDER BY d.created_at DESC)
      FROM consent_consentdirective d WHERE d.family_id = f.id) AS consents
FROM families_family f
WHERE f.id = %(family)s;
