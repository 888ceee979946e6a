CREATE OR REPLACE VIEW events_exactly_once AS
SELECT "event_id", "schema_version", "timestamp", "indicador", "pais", "valor", "fuente", "unidad", "dt"
FROM (
  SELECT *, row_number() OVER (
    PARTITION BY indicador, dt, event_id ORDER BY CASE WHEN regexp_extract("$path", '[^/]+$') LIKE 'u-%' THEN 1 ELSE 0 END, received_order ASC NULLS LAST, regexp_extract("$path", '[^/]+$'), "$path"
  ) AS copy_rank
  FROM events
)
WHERE copy_rank = 1
