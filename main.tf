################################################################################
# Names and per-environment switches
################################################################################

data "aws_caller_identity" "current" {
  # Only AWS environments need the account id (globally unique bucket names); the emulator's is fake.
  count = local.aws_count
}

data "aws_partition" "current" {
  count = local.aws_count
}

locals {
  # local is the emulator; every other environment (dev, prod) is a real AWS account, unless
  # var.emulator puts it on an emulator (its names and settings, the emulator's code paths).
  is_local = coalesce(var.emulator, var.environment == "local")
  # The count of every AWS-only resource (Glue/Athena, alarms, budget, trail): 0 locally, 1 on AWS.
  aws_count = local.is_local ? 0 : 1
  prefix    = "${var.project}-${var.environment}"

  # What differs between environments, in one place. dev is cheap and easy to tear down; prod is
  # protected against deletion and keeps logs and audit longer. Each setting has a variable of the
  # same name whose null default means "this environment's value" (variables.tf).
  # local: values the emulator accepts (the AWS-only settings are not used there).
  environment_defaults = {
    local = {
      bucket_force_destroy      = true
      deletion_protection       = false
      log_retention_days        = 14
      monthly_budget_usd        = 20
      cloudtrail_s3_data_events = false
      audit_log_retention_days  = 30
    }
    dev = {
      bucket_force_destroy      = true
      deletion_protection       = false
      log_retention_days        = 7
      monthly_budget_usd        = 20
      cloudtrail_s3_data_events = false
      audit_log_retention_days  = 30
    }
    prod = {
      bucket_force_destroy      = false
      deletion_protection       = true
      log_retention_days        = 90
      monthly_budget_usd        = 50
      cloudtrail_s3_data_events = true
      audit_log_retention_days  = 365
    }
  }
  # The environment's defaults, each replaced by its variable when that is set.
  settings = {
    bucket_force_destroy      = coalesce(var.bucket_force_destroy, local.environment_defaults[var.environment].bucket_force_destroy)
    deletion_protection       = coalesce(var.deletion_protection, local.environment_defaults[var.environment].deletion_protection)
    log_retention_days        = coalesce(var.log_retention_days, local.environment_defaults[var.environment].log_retention_days)
    monthly_budget_usd        = coalesce(var.monthly_budget_usd, local.environment_defaults[var.environment].monthly_budget_usd)
    cloudtrail_s3_data_events = coalesce(var.cloudtrail_s3_data_events, local.environment_defaults[var.environment].cloudtrail_s3_data_events)
    audit_log_retention_days  = coalesce(var.audit_log_retention_days, local.environment_defaults[var.environment].audit_log_retention_days)
  }

  # The account's id, partition and root principal: AWS only (null locally, no real account).
  # Policies need ARNs built before the resources exist (analytics.tf, monitoring.tf, audit.tf).
  account_id       = one(data.aws_caller_identity.current[*].account_id)
  partition        = one(data.aws_partition.current[*].partition)
  account_root_arn = local.is_local ? null : "arn:${local.partition}:iam::${local.account_id}:root"

  # Where an AWS environment's state lives: bootstrap/state_backend.json, the one definition that
  # tools/state_backend.py writes into backend_override.tf (output state_backend, asserted by
  # tests/terraform). Read on AWS only: the throw-away copies that apply the local stack lack it.
  state_backend = local.is_local ? null : jsondecode(file("${path.module}/bootstrap/state_backend.json"))

  # Both DLQs keep a message 14 days, the SQS maximum (alarm texts derive the days from it).
  dlq_retention_seconds = 1209600

  layers         = toset(["bronze", "silver", "gold", "artifacts"])
  bucket_suffix  = local.is_local ? "" : "-${local.account_id}"
  bucket_names   = { for layer in local.layers : layer => "${local.prefix}-${layer}${local.bucket_suffix}" }
  bucket_arns    = { for layer, bucket in module.lake_bucket : layer => bucket.arn }
  bronze_bucket  = module.lake_bucket["bronze"].id
  silver_bucket  = module.lake_bucket["silver"].id
  gold_bucket    = module.lake_bucket["gold"].id
  stream_name    = "${local.prefix}-events"
  table_name     = "${local.prefix}-lake"
  dlq_name       = "${local.prefix}-ingest-dlq"
  transform_dlq  = "${local.prefix}-transform-dlq"
  live_dlq       = "${local.prefix}-live-dlq"
  schedule_name  = "${local.prefix}-aggregate-schedule"
  lambda_zip_key = "lambda/lambda.zip"

  # The lake's key prefixes and Glue columns, generated from lambdas/pipeline (layout.py, schema.py) by
  # `python -m lake_tools.generated_files --write`; `make lint` fails when the file is stale. IAM scopes each
  # function to the prefixes it writes.
  lake_layout   = jsondecode(file("${path.module}/datos/lake_layout.json"))
  lake_prefixes = local.lake_layout.lake_prefixes
}

################################################################################
# S3: bronze / silver / gold layers and the artifacts bucket
################################################################################

# What differs between the layers' buckets is the lifecycle rule. Objects replaced in a versioned
# bucket stay as noncurrent versions forever unless they expire: compaction replaces many small
# silver files by one, each aggregate run rewrites gold, each deploy uploads a new zip. A week
# undoes a bad compaction or aggregate; a month of packages allows rollbacks (a deployed function
# keeps its own copy of the code). Bronze also moves to STANDARD_IA and expires.
locals {
  layer_lifecycle_rules = {
    bronze = {
      id              = "bronze-tiering-and-expiry"
      transition_days = var.bronze_ia_transition_days
      expiration_days = var.bronze_expiration_days
      noncurrent_days = 7
    }
    silver    = { id = "silver-expire-replaced-versions", noncurrent_days = 7 }
    gold      = { id = "gold-expire-replaced-versions", noncurrent_days = 7 }
    artifacts = { id = "artifacts-expire-replaced-versions", noncurrent_days = 30 }
  }
}

module "lake_bucket" {
  source   = "./modules/secure_bucket"
  for_each = local.layers

  bucket_name = local.bucket_names[each.key]
  # Local and dev stacks are disposable; prod data is never destroyed with its bucket.
  force_destroy = local.settings.bucket_force_destroy
  tags          = { layer = each.key }

  # AWS: the AWS-managed aws/s3 key; local: SSE-S3 (the emulators have no KMS).
  encryption = { sse_algorithm = local.is_local ? "AES256" : "aws:kms" }
  # AWS only: every local request goes to the emulator over plain http, so a TLS-only policy
  # would (correctly) deny all of them. moto also ignores the Bool condition and denies every
  # object request under any Deny statement with a condition.
  enforce_tls    = !local.is_local
  lifecycle_rule = local.layer_lifecycle_rules[each.key]
}

resource "aws_s3_object" "lambda_zip" {
  bucket      = module.lake_bucket["artifacts"].id
  key         = local.lambda_zip_key
  source      = var.lambda_zip_path
  source_hash = filemd5(var.lambda_zip_path)

  # The object's version_id (deployed by every function module) exists once versioning is on.
  depends_on = [module.lake_bucket]
}

################################################################################
# Kinesis, DynamoDB, SQS
################################################################################

resource "aws_kinesis_stream" "events" {
  name             = local.stream_name
  shard_count      = local.is_local ? var.kinesis_shard_count : null
  retention_period = var.kinesis_retention_hours
  encryption_type  = local.is_local ? "NONE" : "KMS"
  kms_key_id       = local.is_local ? null : "alias/aws/kinesis"

  stream_mode_details {
    stream_mode = local.is_local ? "PROVISIONED" : "ON_DEMAND"
  }
}

resource "aws_dynamodb_table" "lake" {
  #checkov:skip=CKV_AWS_28:Point-in-time recovery is on in every AWS environment (enabled = !local.is_local); the scan evaluates the local default, where the emulators do not implement it.
  #checkov:skip=CKV_AWS_119:Encrypted at rest with the AWS owned key (DynamoDB's default); a customer managed key adds cost and a key policy to run for data that is derived from the lake.
  name         = local.table_name
  billing_mode = "PAY_PER_REQUEST"
  # prod: a destroy (or a console click) cannot delete the table until this is turned off.
  deletion_protection_enabled = local.settings.deletion_protection
  hash_key                    = "pk"
  range_key                   = "sk"

  attribute {
    name = "pk"
    type = "S"
  }

  attribute {
    name = "sk"
    type = "S"
  }

  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = !local.is_local
  }
}

resource "aws_sqs_queue" "ingest_dlq" {
  name                      = local.dlq_name
  message_retention_seconds = local.dlq_retention_seconds
  sqs_managed_sse_enabled   = true
}

# What the live consumer could not write after its retries (Lambda's on-failure record, no data):
# `make redrive` reads the records back from the stream and offers them again. Losing them is
# never silent, and the aggregate sets LATEST from silver within one schedule period anyway.
resource "aws_sqs_queue" "live_dlq" {
  name                      = local.live_dlq
  message_retention_seconds = local.dlq_retention_seconds
  sqs_managed_sse_enabled   = true
}

# S3 notifications invoke transform asynchronously: what still fails after Lambda's retries is
# parked here (Lambda's on-failure record, with the S3 event as requestPayload) for `make redrive`.
resource "aws_sqs_queue" "transform_dlq" {
  name                      = local.transform_dlq
  message_retention_seconds = local.dlq_retention_seconds
  sqs_managed_sse_enabled   = true
}

################################################################################
# Lambda functions: one modules/lambda_function call each (function, role, log group), with its
# IAM statements, environment and triggers beside it
################################################################################

locals {
  # Memory and timeout of each function, overridable per function with var.lambda_function_settings.
  function_defaults = {
    ingest    = { memory_size = 256, timeout = 60 }
    transform = { memory_size = 1024, timeout = 120 }
    aggregate = { memory_size = 1024, timeout = 300 }
    api       = { memory_size = 256, timeout = 10 }
    # Small and short: it validates a few seconds of events and makes at most one write per series.
    live = { memory_size = 256, timeout = 30 }
  }
  function_settings = {
    for name, d in local.function_defaults : name => {
      memory_size = coalesce(try(var.lambda_function_settings[name].memory_size, null), d.memory_size)
      timeout     = coalesce(try(var.lambda_function_settings[name].timeout, null), d.timeout)
    }
  }

  lambda_runtime  = "python3.12"
  lambda_zip_hash = filebase64sha256(var.lambda_zip_path)
  # moto does not implement LoggingConfig; the default group has the same name anyway.
  explicit_logging_config = !local.is_local

  # Environment of docs/DESIGN.md ("Lambda environment") every function gets, besides its own
  # and POWERTOOLS_SERVICE_NAME (its role). AWS_ENDPOINT_URL is never set here.
  common_environment = {
    BRONZE_BUCKET = local.bronze_bucket
    LOG_LEVEL     = var.log_level
  }

  # Kinesis read access of the stream's two consumers (ingest for the lake, live for LATEST).
  read_event_stream_statement = {
    sid = "ReadEventStream"
    actions = [
      "kinesis:DescribeStream",
      "kinesis:DescribeStreamSummary",
      "kinesis:GetRecords",
      "kinesis:GetShardIterator",
      "kinesis:ListShards",
      "kinesis:SubscribeToShard",
    ]
    resources = [aws_kinesis_stream.events.arn]
  }

  # Every function by its role: what the alarms, the outputs and the tests iterate over.
  lambda_functions = {
    ingest    = module.ingest_function
    transform = module.transform_function
    aggregate = module.aggregate_function
    live      = module.live_function
    api       = module.api_function
  }
}

# --- ingest: stream -> bronze ---------------------------------------------------------------------

module "ingest_function" {
  source = "./modules/lambda_function"

  name        = "${local.prefix}-ingest"
  description = "Kinesis -> bronze: validates events, writes gzip JSON lines, quarantines rejects."
  handler     = "pipeline.handlers.ingest.handler"
  runtime     = local.lambda_runtime
  timeout     = local.function_settings.ingest.timeout
  memory_size = local.function_settings.ingest.memory_size

  s3_bucket         = aws_s3_object.lambda_zip.bucket
  s3_key            = aws_s3_object.lambda_zip.key
  s3_object_version = aws_s3_object.lambda_zip.version_id
  source_code_hash  = local.lambda_zip_hash

  environment_variables   = merge(local.common_environment, { POWERTOOLS_SERVICE_NAME = "ingest" })
  log_retention_days      = local.settings.log_retention_days
  explicit_logging_config = local.explicit_logging_config

  policy_statements = [
    local.read_event_stream_statement,
    {
      sid       = "WriteBronzeStreamAndQuarantine"
      actions   = ["s3:PutObject"]
      resources = ["${local.bucket_arns["bronze"]}/${local.lake_prefixes.stream}*", "${local.bucket_arns["bronze"]}/${local.lake_prefixes.quarantine}*"]
    },
    {
      # The on-failure destination of the event source mapping is written with this role.
      sid       = "SendToIngestDlq"
      actions   = ["sqs:SendMessage"]
      resources = [aws_sqs_queue.ingest_dlq.arn]
    },
  ]
  # Triggered by its event source mapping (aws_lambda_event_source_mapping.stream), not a permission.
  allowed_triggers = {}
}

# --- live: stream -> LATEST in DynamoDB -------------------------------------------------------------

module "live_function" {
  source = "./modules/lambda_function"

  name        = "${local.prefix}-live"
  description = "Kinesis -> LATEST in DynamoDB within seconds: one conditional write per series and batch."
  handler     = "pipeline.handlers.live.handler"
  runtime     = local.lambda_runtime
  timeout     = local.function_settings.live.timeout
  memory_size = local.function_settings.live.memory_size

  s3_bucket         = aws_s3_object.lambda_zip.bucket
  s3_key            = aws_s3_object.lambda_zip.key
  s3_object_version = aws_s3_object.lambda_zip.version_id
  source_code_hash  = local.lambda_zip_hash

  environment_variables = merge(local.common_environment, {
    POWERTOOLS_SERVICE_NAME = "live"
    TABLE_NAME              = aws_dynamodb_table.lake.name
  })
  log_retention_days      = local.settings.log_retention_days
  explicit_logging_config = local.explicit_logging_config

  policy_statements = [
    local.read_event_stream_statement,
    {
      # Conditional PutItem only (the LATEST rule is the condition): nothing is read.
      sid       = "WriteLatestItems"
      actions   = ["dynamodb:PutItem"]
      resources = [aws_dynamodb_table.lake.arn]
    },
    {
      sid       = "SendToLiveDlq"
      actions   = ["sqs:SendMessage"]
      resources = [aws_sqs_queue.live_dlq.arn]
    },
  ]
  # Triggered by its event source mapping (aws_lambda_event_source_mapping.stream), not a permission.
  allowed_triggers = {}
}

# The stream's two consumers, each with its own checkpoint: ingest lands the lake in bulk (long
# window), live serves LATEST within seconds (short window, from the stream's end: the aggregate
# covers the past). Both retry a failing batch, bisect it, and park what still fails in their DLQ.
locals {
  stream_consumers = merge(
    {
      ingest = {
        function_arn      = module.ingest_function.function_arn
        starting_position = var.ingest_starting_position
        batch_size        = var.ingest_batch_size
        window_seconds    = var.ingest_batching_window_seconds
        retry_attempts    = var.ingest_maximum_retry_attempts
        record_age        = var.ingest_maximum_record_age_seconds
        dlq_arn           = aws_sqs_queue.ingest_dlq.arn
      }
    },
    var.live_serving_enabled ? {
      live = {
        function_arn      = module.live_function.function_arn
        starting_position = "LATEST"
        batch_size        = var.live_batch_size
        window_seconds    = var.live_batching_window_seconds
        retry_attempts    = var.live_maximum_retry_attempts
        record_age        = var.live_maximum_record_age_seconds
        dlq_arn           = aws_sqs_queue.live_dlq.arn
      }
    } : {},
  )
}

resource "aws_lambda_event_source_mapping" "stream" {
  for_each = local.stream_consumers

  event_source_arn  = aws_kinesis_stream.events.arn
  function_name     = each.value.function_arn
  starting_position = each.value.starting_position

  batch_size                         = each.value.batch_size
  maximum_batching_window_in_seconds = each.value.window_seconds
  parallelization_factor             = 1
  bisect_batch_on_function_error     = true
  maximum_retry_attempts             = each.value.retry_attempts
  maximum_record_age_in_seconds      = each.value.record_age
  function_response_types            = ["ReportBatchItemFailures"]

  destination_config {
    on_failure {
      destination_arn = each.value.dlq_arn
    }
  }

  # The mapping is validated against the role's Kinesis and SQS permissions when created.
  depends_on = [module.ingest_function, module.live_function]
}

# --- transform: bronze -> silver ---------------------------------------------------------------------

module "transform_function" {
  source = "./modules/lambda_function"

  name        = "${local.prefix}-transform"
  description = "bronze -> silver: typed, de-duplicated Parquet plus the DynamoDB catalog."
  handler     = "pipeline.handlers.transform.handler"
  runtime     = local.lambda_runtime
  timeout     = local.function_settings.transform.timeout
  memory_size = local.function_settings.transform.memory_size

  s3_bucket         = aws_s3_object.lambda_zip.bucket
  s3_key            = aws_s3_object.lambda_zip.key
  s3_object_version = aws_s3_object.lambda_zip.version_id
  source_code_hash  = local.lambda_zip_hash

  environment_variables = merge(local.common_environment, {
    POWERTOOLS_SERVICE_NAME = "transform"
    SILVER_BUCKET           = local.silver_bucket
    TABLE_NAME              = aws_dynamodb_table.lake.name
  })
  log_retention_days      = local.settings.log_retention_days
  explicit_logging_config = local.explicit_logging_config

  policy_statements = [
    {
      sid       = "ReadBronzeSources"
      actions   = ["s3:GetObject"]
      resources = ["${local.bucket_arns["bronze"]}/${local.lake_prefixes.stream}*", "${local.bucket_arns["bronze"]}/${local.lake_prefixes.uploads}*"]
    },
    {
      sid       = "WriteBronzeQuarantine"
      actions   = ["s3:PutObject"]
      resources = ["${local.bucket_arns["bronze"]}/${local.lake_prefixes.quarantine}*"]
    },
    {
      # A corrected re-upload clears the quarantine of its previous version.
      sid       = "ClearUploadQuarantine"
      actions   = ["s3:DeleteObject"]
      resources = ["${local.bucket_arns["bronze"]}/${local.lake_prefixes.transform_quarantine}${local.lake_prefixes.uploads}*"]
    },
    {
      # Delete: a re-upload removes its files from partitions it no longer touches.
      # No ListBucket and no reads of silver: landing never looks at what is stored.
      sid       = "WriteSilverEvents"
      actions   = ["s3:PutObject", "s3:DeleteObject"]
      resources = ["${local.bucket_arns["silver"]}/${local.lake_prefixes.silver_events}*"]
    },
    {
      # PutItem: catalog items; UpdateItem: the upload ledger (turns and what each upload wrote).
      sid       = "WriteCatalogAndUploadLedger"
      actions   = ["dynamodb:PutItem", "dynamodb:UpdateItem"]
      resources = [aws_dynamodb_table.lake.arn]
    },
    {
      # Lambda sends the on-failure record of a failed asynchronous invocation with this role.
      sid       = "SendToTransformDlq"
      actions   = ["sqs:SendMessage"]
      resources = [aws_sqs_queue.transform_dlq.arn]
    },
  ]
  allowed_triggers = {
    AllowBronzeObjectCreated = {
      principal  = "s3.amazonaws.com"
      source_arn = local.bucket_arns["bronze"]
    }
  }
}

resource "aws_s3_bucket_notification" "bronze" {
  bucket = module.lake_bucket["bronze"].id

  # quarantine/ is written by the pipeline itself and must not trigger transform.
  lambda_function {
    id                  = "transform-stream"
    lambda_function_arn = module.transform_function.function_arn
    events              = ["s3:ObjectCreated:*"]
    filter_prefix       = local.lake_prefixes.stream
  }

  lambda_function {
    id                  = "transform-uploads"
    lambda_function_arn = module.transform_function.function_arn
    events              = ["s3:ObjectCreated:*"]
    filter_prefix       = local.lake_prefixes.uploads
  }

  # S3 tests the destination when the notification is saved: the permission must exist.
  depends_on = [module.transform_function]
}

resource "aws_lambda_function_event_invoke_config" "transform" {
  function_name                = module.transform_function.function_name
  maximum_retry_attempts       = 2
  maximum_event_age_in_seconds = var.transform_maximum_event_age_seconds

  destination_config {
    on_failure {
      destination = aws_sqs_queue.transform_dlq.arn
    }
  }

  # Lambda checks that the role may send to the destination when the config is saved.
  depends_on = [module.transform_function]
}

# --- aggregate: silver -> gold, on two schedules ------------------------------------------------------

module "aggregate_function" {
  source = "./modules/lambda_function"

  name        = "${local.prefix}-aggregate"
  description = "silver -> gold: daily KPIs per country and indicator, latest values in DynamoDB."
  handler     = "pipeline.handlers.aggregate.handler"
  runtime     = local.lambda_runtime
  timeout     = local.function_settings.aggregate.timeout
  memory_size = local.function_settings.aggregate.memory_size

  s3_bucket         = aws_s3_object.lambda_zip.bucket
  s3_key            = aws_s3_object.lambda_zip.key
  s3_object_version = aws_s3_object.lambda_zip.version_id
  source_code_hash  = local.lambda_zip_hash

  environment_variables = merge(local.common_environment, {
    POWERTOOLS_SERVICE_NAME = "aggregate"
    SILVER_BUCKET           = local.silver_bucket
    GOLD_BUCKET             = local.gold_bucket
    TABLE_NAME              = aws_dynamodb_table.lake.name
    DEDUPE_HORIZON_SECONDS  = tostring(var.aggregate_dedupe_horizon_seconds)
    SILVER_TARGET_FILE_MB   = tostring(var.silver_target_file_mb)
  })
  log_retention_days      = local.settings.log_retention_days
  explicit_logging_config = local.explicit_logging_config

  policy_statements = [
    {
      sid       = "ListSilver"
      actions   = ["s3:ListBucket"]
      resources = [local.bucket_arns["silver"]]
    },
    {
      # Put/Delete: compaction merges a partition's stream-side files and trims uploads.
      sid       = "ReadAndCompactSilverEvents"
      actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
      resources = ["${local.bucket_arns["silver"]}/${local.lake_prefixes.silver_events}*"]
    },
    {
      # Each partition's state (pipeline.partition_state), read and written with conditions.
      sid       = "ReadWriteAggregateState"
      actions   = ["s3:GetObject", "s3:PutObject"]
      resources = ["${local.bucket_arns["silver"]}/${local.lake_prefixes.aggregate_state}*"]
    },
    {
      sid       = "WriteGoldKpis"
      actions   = ["s3:PutObject", "s3:DeleteObject"] # delete: a partition left with no events
      resources = ["${local.bucket_arns["gold"]}/${local.lake_prefixes.gold_kpis}*"]
    },
    {
      sid = "ReadWriteLakeTable"
      # DeleteItem: KPI and LATEST items of rows a re-upload removed from silver.
      actions   = ["dynamodb:Query", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem", "dynamodb:DeleteItem"]
      resources = [aws_dynamodb_table.lake.arn]
    },
  ]
  allowed_triggers = {
    AllowAggregateSchedule = {
      principal  = "events.amazonaws.com"
      source_arn = aws_cloudwatch_event_rule.aggregate.arn
    }
    AllowCompactionSchedule = {
      principal  = "events.amazonaws.com"
      source_arn = aws_cloudwatch_event_rule.compaction.arn
    }
  }
}

resource "aws_cloudwatch_event_rule" "aggregate" {
  name                = local.schedule_name
  description         = "Runs ${local.prefix}-aggregate on a schedule."
  schedule_expression = var.aggregate_schedule_expression
  state               = var.aggregate_schedule_enabled ? "ENABLED" : "DISABLED"
}

resource "aws_cloudwatch_event_target" "aggregate" {
  rule      = aws_cloudwatch_event_rule.aggregate.name
  target_id = "aggregate"
  arn       = module.aggregate_function.function_arn
}

# Compaction: the same function, its own schedule and input, so the per-minute run never merges.
resource "aws_cloudwatch_event_rule" "compaction" {
  name                = "${local.prefix}-compaction-schedule"
  description         = "Runs ${local.prefix}-aggregate with {\"compact\": true} on a schedule."
  schedule_expression = var.compaction_schedule_expression
  state               = var.aggregate_schedule_enabled ? "ENABLED" : "DISABLED"
}

resource "aws_cloudwatch_event_target" "compaction" {
  rule      = aws_cloudwatch_event_rule.compaction.name
  target_id = "compaction"
  arn       = module.aggregate_function.function_arn
  input     = jsonencode({ compact = true })
}

# --- api: the Function URL -----------------------------------------------------------------------------

locals {
  api_authorization_type = local.is_local ? "NONE" : var.api_authorization_type
}

module "api_function" {
  source = "./modules/lambda_function"

  name        = "${local.prefix}-api"
  description = "Function URL: latest values and daily KPIs from DynamoDB."
  handler     = "pipeline.handlers.api.handler"
  runtime     = local.lambda_runtime
  timeout     = local.function_settings.api.timeout
  memory_size = local.function_settings.api.memory_size

  s3_bucket         = aws_s3_object.lambda_zip.bucket
  s3_key            = aws_s3_object.lambda_zip.key
  s3_object_version = aws_s3_object.lambda_zip.version_id
  source_code_hash  = local.lambda_zip_hash

  environment_variables = merge(local.common_environment, {
    POWERTOOLS_SERVICE_NAME = "api"
    TABLE_NAME              = aws_dynamodb_table.lake.name
  })
  log_retention_days      = local.settings.log_retention_days
  explicit_logging_config = local.explicit_logging_config

  policy_statements = [
    {
      sid       = "ReadLakeTable"
      actions   = ["dynamodb:Query", "dynamodb:GetItem"]
      resources = [aws_dynamodb_table.lake.arn]
    },
  ]
  allowed_triggers = local.api_authorization_type == "NONE" ? {
    AllowPublicFunctionUrl = {
      principal              = "*"
      function_url_auth_type = "NONE"
    }
  } : {}
}

resource "aws_lambda_function_url" "api" {
  function_name      = module.api_function.function_name
  authorization_type = local.api_authorization_type
}
