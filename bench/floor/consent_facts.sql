-- The floor of the policy's facts for some families (issue 15), in one statement: every consent version (its
-- terms, its directive's revocation, the organisations and people it names), court order, agreed or ended
-- restriction and sent referral, and every care-team place, as one JSON document per family. What the door
-- reads to decide a page's records, with nothing decided. Parameter: %(families)s, an array of family ids.
SELECT
    f.id,
    (SELECT json_agg(json_build_array(m.membership_id, s.organization_id, m.joined_at, m.left_at, m.is_coordinator))
      FROM families_careteammember m
      JOIN families_careteam t ON t.id = m.care_team_id
      JOIN organizations_membership s ON s.id = m.membership_id
      WHERE t.family_id = f.id) AS team,
    (SELECT json_agg(json_build_array(
            v.id, v.directive_id, v.number, d.revoked_at, v.discloser_classes, v.recipient_classes, v.purposes,
            v.categories, v.kinds, left(v.right_to_revoke, 64), v.expires_at, v.expiry_event,
            v.expiry_event_recorded_at, v.signer_name, v.signature_typed, left(v.signature_drawn, 64),
            v.guardian_signature_typed, v.signed_at, v.effective_at, v.signer_kind,
            (SELECT array_agg(x.organization_id) FROM consent_consentversion_discloser_orgs x
              WHERE x.consentversion_id = v.id),
            (SELECT array_agg(x.organization_id) FROM consent_consentversion_recipient_orgs x
              WHERE x.consentversion_id = v.id),
            (SELECT array_agg(x.membership_id) FROM consent_consentversion_recipient_people x
              WHERE x.consentversion_id = v.id))
            ORDER BY v.directive_id, v.number)
      FROM consent_consentversion v
      JOIN consent_consentdirective d ON d.id = v.directive_id
      WHERE d.family_id = f.id) AS versions,
    (SELECT json_agg(json_build_array(o.id, o.court_id, o.created_by_org_id, o.named_person_id, o.categories,
            o.valid_from, o.valid_until, o.kinds, o.records))
      FROM consent_courtorder o WHERE o.family_id = f.id) AS court_orders,
    (SELECT json_agg(json_build_array(r.decided_at, r.disclosing_org_id, r.recipient_org_id, r.recipient_person_id,
            r.categories, r.purposes, r.ended_at, r.ended_on_request_of))
      FROM consent_restriction r WHERE r.family_id = f.id AND r.status IN ('agreed', 'ended')) AS restrictions,
    (SELECT json_agg(json_build_array(x.receiving_org_id, x.assigned_to_id, x.purpose, x.sent_at, x.closed_at))
      FROM referrals_referral x WHERE x.family_id = f.id AND x.sent_at IS NOT NULL) AS referrals
FROM families_family f
WHERE f.id = ANY(%(families)s);
