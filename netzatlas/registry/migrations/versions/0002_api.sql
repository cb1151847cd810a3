-- API: keys with scopes, idempotency records for sync, layer access policy and sensitive properties.
CREATE TABLE registry.api_key (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  prefix text NOT NULL UNIQUE,           -- the public part of the key, used to find it
  salt text NOT NULL,
  key_hash text NOT NULL,                -- sha256(salt || secret), hex; the secret itself is never stored
  org text NOT NULL REFERENCES registry.organization (slug),
  name text,
  scopes text[] NOT NULL DEFAULT '{read}',
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz,
  last_used_at timestamptz);

CREATE TABLE registry.idempotency (
  key text NOT NULL, org text NOT NULL, request_hash text NOT NULL,
  status integer NOT NULL, response bytea NOT NULL, media_type text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (key, org));

-- which layers anonymous callers may read, and which properties they never see
CREATE TABLE registry.layer_policy (layer text PRIMARY KEY, public boolean NOT NULL DEFAULT true, note text);
INSERT INTO registry.layer_policy VALUES
  ('candidate_site', false, 'city-owned candidate properties: internal until a decision is published');

CREATE TABLE registry.sensitive_property (
  layer text NOT NULL,      -- a layer name or '*' for every layer
  property text NOT NULL,   -- a column, or a key inside the properties object
  reason text,
  PRIMARY KEY (layer, property));
INSERT INTO registry.sensitive_property VALUES
  ('*', 'updated_by', 'names of staff and keys'),
  ('*', 'contact', 'personal contact data'), ('*', 'phone', 'personal contact data'),
  ('*', 'email', 'personal contact data'), ('*', 'contact:phone', 'personal contact data'),
  ('*', 'contact:email', 'personal contact data'),
  ('mobile_site', 'operator_contract', 'contract data of the site owner'),
  ('fibre_address', 'dwellings', 'statistical disclosure at address level'),
  ('charging_point', 'Public Key1', 'meter keys'), ('charging_point', 'Public Key2', 'meter keys'),
  ('charging_point', 'Public Key3', 'meter keys'), ('charging_point', 'Public Key4', 'meter keys');

INSERT INTO registry.organization (slug, name, kind) VALUES
  ('stawag', 'STAWAG – Stadtwerke Aachen AG', 'utility'),
  ('regionetz', 'Regionetz GmbH', 'utility')
ON CONFLICT DO NOTHING;
