-- Mast requests (Standortanfragen) and their decision records, with history like every registry table.
CREATE TABLE registry.mast_request (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  operator text NOT NULL,
  technology text NOT NULL DEFAULT 'LTE',
  radius_m double precision NOT NULL CHECK (radius_m > 0),
  desired_height_m double precision NOT NULL CHECK (desired_height_m > 0),
  received_on date NOT NULL,
  deadline date NOT NULL,
  status text NOT NULL DEFAULT 'received'
    CHECK (status IN ('received', 'under_review', 'alternative_proposed', 'agreed', 'rejected')),
  decision text,
  evaluation jsonb,
  report text,
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  updated_by text DEFAULT audit.actor(),
  deleted_at timestamptz,
  geom geometry(Point, {srid}) NOT NULL);
SELECT audit.track('registry.mast_request');
