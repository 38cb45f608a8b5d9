-- Cross-channel identity (packages/core/src/contacts: identity-keys.ts, contact-merge.ts, identity.service.ts).
--
-- A merged contact stays as a row pointing at the contact it was merged into: hidden from lists and
-- search, its id answering 404 with the survivor's id, and restorable by an unmerge.
ALTER TABLE contacts ADD COLUMN merged_into_id uuid REFERENCES contacts(id);
CREATE INDEX contacts_merged_into_idx ON contacts (merged_into_id) WHERE merged_into_id IS NOT NULL;
-- Merge suggestions: the same name, the same phone (last 10 digits, so "+86 138…" meets "138…").
CREATE INDEX contacts_name_idx ON contacts (workspace_id, lower(btrim(name))) WHERE name IS NOT NULL;
CREATE INDEX contacts_phone_tail_idx ON contacts (workspace_id, right(regexp_replace(COALESCE(phone, ''), '[^0-9]', '', 'g'), 10));
-- Merge suggestions: an email address or phone number that is the channel id of another contact.
CREATE INDEX contact_identities_source_idx ON contact_identities (workspace_id, source_id);

-- Keys a channel vouches for (a verified email, a phone number from the carrier, a WeChat unionid, the
-- customer's own user id signed with the inbox's identity key). Two contacts whose identities share one
-- are the same person and are merged automatically. Values are normalized (emails lower-case, phones
-- E.164). Never filled from what a person typed.
CREATE TABLE identity_keys (
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  identity_id uuid NOT NULL REFERENCES contact_identities(id) ON DELETE CASCADE,
  kind text NOT NULL CHECK (kind IN ('email', 'phone', 'unionid', 'user_id')),
  value text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workspace_id, kind, value, identity_id)
);
CREATE INDEX identity_keys_identity_idx ON identity_keys (identity_id);

-- Every merge, automatic or manual, with what it moved and the merged contact's fields as they were, so
-- an unmerge can give everything back. `filled` holds what the survivor received from the merged contact
-- (empty fields, attributes, tags) so an unmerge can take back what nobody changed since.
CREATE TABLE contact_merges (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  survivor_id uuid NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
  merged_id uuid NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
  identity_ids uuid[] NOT NULL DEFAULT '{}',
  conversation_ids uuid[] NOT NULL DEFAULT '{}',
  merged_snapshot jsonb NOT NULL,
  filled jsonb NOT NULL DEFAULT '{}',
  actor_type text NOT NULL,
  actor_id text,
  reason text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  undone_at timestamptz,
  undone_by_type text,
  undone_by_id text
);
CREATE INDEX contact_merges_survivor_idx ON contact_merges (workspace_id, survivor_id, created_at DESC);
CREATE INDEX contact_merges_merged_idx ON contact_merges (workspace_id, merged_id, created_at DESC);
-- A contact is merged into at most one other at a time.
CREATE UNIQUE INDEX contact_merges_active_idx ON contact_merges (merged_id) WHERE undone_at IS NULL;

-- The new permission for existing workspaces' preset roles (new workspaces get it from PRESET_ROLES).
UPDATE roles SET permissions = array_append(permissions, 'contact.merge')
  WHERE preset AND name IN ('admin', 'supervisor') AND NOT ('contact.merge' = ANY (permissions));
