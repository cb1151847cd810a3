-- Analysis results as read-only collections (OGC API Features + vector tiles): views with the shared columns.
CREATE VIEW registry.gigabit_result AS
SELECT md5(c.snapshot_id || '/' || c.address_id::text)::uuid AS id, 'gigabit'::text AS source,
       a.external_id, c.snapshot_id, s.programme, s.reference_date, s.simulated,
       a.street, a.house_number, a.house_number_suffix, a.postcode,
       c.best_down_mbps, c.best_up_mbps, c.best_technology, c.nga_networks, c.planned_down_mbps, c.planned_up_mbps,
       c.planned_date, c.binding_plan, c.class_de, c.class_en, c.eligible, c.reason,
       1 AS version, s.created_at AS updated_at, NULL::timestamptz AS deleted_at, a.geom
FROM registry.gigabit_classification c
JOIN registry.gigabit_snapshot s ON s.id = c.snapshot_id
JOIN registry.fibre_address a ON a.id = c.address_id;

CREATE VIEW registry.funding_area_result AS
SELECT md5(f.snapshot_id || '/' || f.area_no::text)::uuid AS id, 'gigabit'::text AS source,
       f.snapshot_id || '/' || f.area_no AS external_id, f.snapshot_id, f.area_no, f.rank, f.addresses, f.dwellings,
       f.businesses, f.schools, f.hospitals, f.trench_m, f.cost_eur, f.cost_per_connection_eur, s.simulated,
       1 AS version, s.created_at AS updated_at, NULL::timestamptz AS deleted_at, f.geom
FROM registry.funding_area f JOIN registry.gigabit_snapshot s ON s.id = f.snapshot_id;
