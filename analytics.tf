################################################################################
# Analytics (AWS environments: dev and prod): a Glue catalog over silver and gold with partition projection (no
# crawler, no partitions to register), and an Athena workgroup with its own results bucket.
# LocalStack community and the embedded emulator have neither Glue nor Athena: locally the same
# questions go through DuckDB (`make query`).
################################################################################

locals {
  # The indicadores of the reference data (the list the event contract is checked against).
  # try(): the throw-away copies that apply the local stack hold only *.tf and modules/; AWS
  # needs the file and says so (precondition on the events table).
  lake_indicadores = try([for row in csvdecode(file("${path.module}/datos/indicadores.csv")) : row.indicador], [])

  # Hive partitions indicador=<I>/dt=<YYYY-MM-DD> of docs/DESIGN.md ("Object layout"), projected.
  # The range ends a day ahead: the contract accepts timestamps up to 1 day of clock skew.
  lake_partition_keys = [
    { name = "indicador", type = "string", comment = "Partition: one of datos/indicadores.csv." },
    { name = "dt", type = "string", comment = "Partition: UTC day of the event timestamp, yyyy-MM-dd." },
  ]
  lake_partition_projection = {
    "projection.enabled"          = "true"
    "projection.indicador.type"   = "enum"
    "projection.indicador.values" = join(",", local.lake_indicadores)
    "projection.dt.type"          = "date"
    "projection.dt.format"        = "yyyy-MM-dd"
    "projection.dt.range"         = "${var.lake_projection_start_date},NOW+1DAYS"
    "projection.dt.interval"      = "1"
    "projection.dt.interval.unit" = "DAYS"
  }

  # Columns of pipeline.schema (Arrow -> Glue/Hive): SILVER_FILE_SCHEMA and GOLD_SCHEMA, generated into
  # datos/lake_layout.json (main.tf). Columns a later schema version added come last; Parquet files
  # written before them read them as null (docs/DESIGN.md, "Schema evolution").
  silver_columns = local.lake_layout.glue_columns.silver
  gold_columns   = local.lake_layout.glue_columns.gold

  # One Glue table per lake layer that Athena reads (silver events, gold daily KPIs).
  lake_tables = {
    events = {
      location    = "s3://${local.bucket_names["silver"]}/${local.lake_prefixes.silver_events}"
      columns     = local.silver_columns
      description = "Silver events, one Parquet file per source object and partition. Files may hold copies of an event until the next compaction (one aggregate period): apply the read rule of docs/DESIGN.md (\"Reading\"), e.g. through the events_exactly_once view (saved query of the same name)."
    }
    kpis_diarios = {
      location    = "s3://${local.bucket_names["gold"]}/${local.lake_prefixes.gold_kpis}"
      columns     = local.gold_columns
      description = "Gold daily KPIs per country, one file per (indicador, dt) partition, rewritten by each aggregate run. Computed from silver with the read rule, so each event counts once."
    }
  }

  glue_database_name    = replace(local.prefix, "-", "_") # Athena names: no dashes
  athena_results_bucket = "${local.prefix}-athena-results${local.bucket_suffix}"

  # The read rule of docs/DESIGN.md ("Reading") in Athena SQL, generated from pipeline/read_rule.py
  # (`python -m lake_tools.generated_files --write`; `make lint` fails when the checked-in file differs):
  # one row per event_id, a stream copy before an upload's ("$path" is the object's S3 URI), then the
  # copy received first (received_order).
  # try(): like datos/, the copies that apply the local stack may lack sql/; prod checks it
  # (precondition on the named query).
  events_exactly_once_sql = try(file("${path.module}/sql/events_exactly_once.athena.sql"), "")
}

################################################################################
# Glue catalog: database, silver events, gold daily KPIs
################################################################################

resource "aws_glue_catalog_database" "lake" {
  count = local.aws_count

  name        = local.glue_database_name
  description = "${local.prefix} lake: silver events and gold daily KPIs (Parquet, partition projection). Query through the ${local.prefix}-lake Athena workgroup."
}

resource "aws_glue_catalog_table" "lake" {
  for_each = local.is_local ? {} : local.lake_tables

  name          = each.key
  database_name = aws_glue_catalog_database.lake[0].name
  description   = each.value.description
  table_type    = "EXTERNAL_TABLE"

  parameters = merge(local.lake_partition_projection, {
    EXTERNAL                    = "TRUE"
    classification              = "parquet"
    "storage.location.template" = "${each.value.location}indicador=$${indicador}/dt=$${dt}/"
  })

  dynamic "partition_keys" {
    for_each = local.lake_partition_keys

    content {
      name    = partition_keys.value.name
      type    = partition_keys.value.type
      comment = partition_keys.value.comment
    }
  }

  storage_descriptor {
    location      = each.value.location
    input_format  = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"

    ser_de_info {
      serialization_library = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
      parameters            = { "serialization.format" = "1" }
    }

    dynamic "columns" {
      for_each = each.value.columns

      content {
        name    = columns.value.name
        type    = columns.value.type
        comment = columns.value.comment
      }
    }
  }

  lifecycle {
    precondition {
      condition     = length(local.lake_indicadores) > 0
      error_message = "datos/indicadores.csv must sit next to the root module: the indicador partition values are read from it."
    }
  }
}

################################################################################
# Athena: results bucket (own key), workgroup, the read rule as a saved query
################################################################################

module "athena_results_key" {
  source = "./modules/kms_key"
  count  = local.aws_count

  description       = "${local.prefix}: encrypts Athena query results (${local.athena_results_bucket}). Callers need kms:GenerateDataKey and kms:Decrypt on it through IAM."
  administrator_arn = local.account_root_arn
}

module "athena_results_bucket" {
  source = "./modules/secure_bucket"
  count  = local.aws_count

  bucket_name = local.athena_results_bucket
  # Query results are a cache that expires anyway: destroying the workgroup may take them along.
  force_destroy = true
  tags          = { layer = "athena-results" }

  encryption = { sse_algorithm = "aws:kms", kms_key_arn = module.athena_results_key[0].arn }
  lifecycle_rule = {
    id              = "expire-query-results"
    expiration_days = var.athena_results_expiration_days
    noncurrent_days = 1
  }
}

resource "aws_athena_workgroup" "lake" {
  count = local.aws_count

  name        = "${local.prefix}-lake"
  description = "Queries over the ${local.prefix} lake (Glue database ${local.glue_database_name}). Results in ${local.athena_results_bucket}, at most ${var.athena_bytes_scanned_cutoff_mb} MB scanned per query."
  state       = "ENABLED"
  # Its saved queries are managed here; query history must not block a destroy.
  force_destroy = true

  configuration {
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true
    bytes_scanned_cutoff_per_query     = var.athena_bytes_scanned_cutoff_mb * 1048576

    engine_version {
      selected_engine_version = "Athena engine version 3"
    }

    result_configuration {
      output_location       = "s3://${module.athena_results_bucket[0].id}/results/"
      expected_bucket_owner = local.account_id

      encryption_configuration {
        encryption_option = "SSE_KMS"
        kms_key_arn       = module.athena_results_key[0].arn
      }
    }
  }
}

resource "aws_athena_named_query" "events_exactly_once" {
  count = local.aws_count

  name        = "events_exactly_once"
  description = "Creates the events_exactly_once view: silver events with the read rule of docs/DESIGN.md (\"Reading\") applied, one row per event_id: a stream copy before an upload's, then the copy received first. Run once after the first apply, then: select count(*) as n from events_exactly_once"
  database    = aws_glue_catalog_database.lake[0].name
  workgroup   = aws_athena_workgroup.lake[0].id
  query       = local.events_exactly_once_sql

  lifecycle {
    precondition {
      condition     = length(local.events_exactly_once_sql) > 0
      error_message = "sql/events_exactly_once.athena.sql must sit next to the root module: it is the view's SQL."
    }
  }
}
