################################################################################
# Deployment target
################################################################################

variable "environment" {
  description = "Deployment target: `local` (an AWS emulator at var.local_endpoint, dummy credentials), or `dev` / `prod` (real AWS through the default credentials chain; both can live side by side in one account). dev and prod differ only in the settings of local.environment_defaults (main.tf), each overridable by its variable."
  type        = string
  default     = "local"
  nullable    = false

  validation {
    condition     = contains(["local", "dev", "prod"], var.environment)
    error_message = "The environment must be \"local\", \"dev\" or \"prod\"."
  }
}

variable "project" {
  description = "Project name, the first part of every resource name (`<project>-<environment>-...`)."
  type        = string
  default     = "econ-lake"
  nullable    = false

  validation {
    # Short enough for "<project>-prod-artifacts-<12-digit account id>" to fit S3's 63 characters.
    condition     = can(regex("^[a-z][a-z0-9-]{1,22}[a-z0-9]$", var.project))
    error_message = "The project must be 3-24 characters of lowercase letters, digits and dashes, start with a letter and not end with a dash."
  }
}

variable "aws_region" {
  description = "AWS region to deploy to (also the region the emulator reports in local)."
  type        = string
  default     = "us-east-1"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.aws_region))
    error_message = "The aws_region must look like an AWS region code, e.g. \"us-east-1\"."
  }
}

variable "emulator" {
  description = "Whether the stack runs on an AWS emulator (var.local_endpoint, dummy credentials, the AWS-only parts left out: Glue, Athena, alarms, budget, trail, TLS-only policies, KMS). null (the default): only environment = \"local\" does. true with dev or prod applies that environment's names, state key and settings to an emulator: how tests/e2e/test_state_backend.py puts two environments side by side in one emulator."
  type        = bool
  default     = null

  validation {
    condition     = var.emulator != false || var.environment != "local"
    error_message = "The local environment always runs on an emulator: emulator = false needs environment dev or prod."
  }
}

variable "local_endpoint" {
  description = "Base URL of the AWS emulator used for every service when environment = \"local\" (or emulator = true). Ignored on AWS."
  type        = string
  default     = "http://localhost:4566"
  nullable    = false

  validation {
    condition     = can(regex("^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?/?$", var.local_endpoint))
    error_message = "The local_endpoint must be an http(s) URL without a path, e.g. \"http://localhost:4566\"."
  }
}

################################################################################
# Kinesis
################################################################################

variable "kinesis_shard_count" {
  description = "Shards of the PROVISIONED stream used in local. AWS environments use ON_DEMAND capacity and ignore this value."
  type        = number
  default     = 2
  nullable    = false

  validation {
    condition     = var.kinesis_shard_count >= 1 && var.kinesis_shard_count <= 16 && floor(var.kinesis_shard_count) == var.kinesis_shard_count
    error_message = "The kinesis_shard_count must be a whole number from 1 to 16."
  }
}

variable "kinesis_retention_hours" {
  description = "How long the stream keeps records, in hours (24 to 8760)."
  type        = number
  default     = 24
  nullable    = false

  validation {
    condition     = var.kinesis_retention_hours >= 24 && var.kinesis_retention_hours <= 8760 && floor(var.kinesis_retention_hours) == var.kinesis_retention_hours
    error_message = "The kinesis_retention_hours must be a whole number from 24 to 8760."
  }
}

################################################################################
# Lambda
################################################################################

variable "lambda_zip_path" {
  description = "Path of the deployment package shared by every function, built outside Terraform by `make package`. Relative paths are relative to the working directory."
  type        = string
  default     = "build/lambda.zip"
  nullable    = false

  validation {
    condition     = endswith(var.lambda_zip_path, ".zip") && fileexists(var.lambda_zip_path)
    error_message = "The lambda_zip_path must name an existing .zip file; build it first with `make package`."
  }
}

variable "lambda_function_settings" {
  description = "Per-function overrides of memory (MB) and timeout (s), keyed by function (the keys of local.function_defaults in main.tf: ingest, transform, aggregate, api, live). Unset values keep the defaults (ingest 256/60, transform 1024/120, aggregate 1024/300, api 256/10, live 256/30). The ranges (memory 128-10240 MB, timeout 1-900 s) are checked by modules/lambda_function."
  type = map(object({
    memory_size = optional(number)
    timeout     = optional(number)
  }))
  default  = {}
  nullable = false

  validation {
    condition     = alltrue([for name in keys(var.lambda_function_settings) : contains(keys(local.function_defaults), name)])
    error_message = "The lambda_function_settings keys must be functions of this stack: ingest, transform, aggregate, api or live."
  }
}

variable "log_level" {
  description = "LOG_LEVEL passed to every function (Powertools logger level)."
  type        = string
  default     = "INFO"
  nullable    = false

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], var.log_level)
    error_message = "The log_level must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL."
  }
}

variable "log_retention_days" {
  description = "Retention of every function's CloudWatch log group, in days (one of the values CloudWatch Logs accepts, checked by modules/lambda_function). null (the default): the environment's value (local.environment_defaults in main.tf)."
  type        = number
  default     = null

  validation {
    # The accepted values are checked once, by the module that creates the log groups.
    condition     = var.log_retention_days == null ? true : var.log_retention_days >= 1
    error_message = "The log_retention_days must be null or a positive number of days."
  }
}

################################################################################
# Protection against deletion (per environment: dev is easy to tear down, prod is not)
################################################################################

variable "bucket_force_destroy" {
  description = "Whether `terraform destroy` deletes the lake's buckets with every object version in them (true), or stops at a bucket that is not empty (false). null (the default): the environment's value (local.environment_defaults in main.tf). The audit trail's bucket follows it too."
  type        = bool
  default     = null
}

variable "deletion_protection" {
  description = "Whether the DynamoDB table has deletion protection (no destroy, no console delete until it is turned off). null (the default): the environment's value (local.environment_defaults in main.tf)."
  type        = bool
  default     = null
}

################################################################################
# Bronze lifecycle
################################################################################

variable "bronze_ia_transition_days" {
  description = "Days after creation when bronze objects move to STANDARD_IA (S3 requires at least 30)."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = var.bronze_ia_transition_days >= 30 && floor(var.bronze_ia_transition_days) == var.bronze_ia_transition_days
    error_message = "The bronze_ia_transition_days must be a whole number of at least 30 (the STANDARD_IA minimum)."
  }
}

variable "bronze_expiration_days" {
  description = "Days after creation when bronze objects expire. Must be greater than bronze_ia_transition_days (checked at plan time by modules/secure_bucket)."
  type        = number
  default     = 90
  nullable    = false

  validation {
    condition     = var.bronze_expiration_days >= 1 && floor(var.bronze_expiration_days) == var.bronze_expiration_days
    error_message = "The bronze_expiration_days must be a positive whole number."
  }
}

################################################################################
# Ingest: Kinesis event source mapping
################################################################################

variable "ingest_batch_size" {
  description = "Maximum records per ingest invocation (1 to 10000). Bigger batches mean fewer, bigger bronze objects: fewer S3 requests and invocations per event (an A/B of 100,000 events each, `python -m lake_tools.bench --only sustained --events 100000 --tf-var ingest_batch_size=N`, measured 4,103 ev/s at 500 and 6,497 ev/s at 2,000; the README's 5,312 ev/s is the separate 1,000,000-event run: see its \"Benchmarks\")."
  type        = number
  default     = 2000
  nullable    = false

  validation {
    condition     = var.ingest_batch_size >= 1 && var.ingest_batch_size <= 10000 && floor(var.ingest_batch_size) == var.ingest_batch_size
    error_message = "The ingest_batch_size must be a whole number from 1 to 10000."
  }
}

variable "ingest_batching_window_seconds" {
  description = "Maximum time, in seconds, the lake's event source mapping gathers records before invoking ingest (0 to 300). Trades silver freshness for cost: each window becomes one bronze object per shard, one transform invocation and one silver file per partition, so at a trickle the lake's requests scale with 1/window (at 50 events/s, 1 s cost about $1 per million events in requests, 20 s about a twentieth of that); silver lags by up to the window. The API's latest values do not wait for it (live_batching_window_seconds)."
  type        = number
  default     = 20
  nullable    = false

  validation {
    condition     = var.ingest_batching_window_seconds >= 0 && var.ingest_batching_window_seconds <= 300 && floor(var.ingest_batching_window_seconds) == var.ingest_batching_window_seconds
    error_message = "The ingest_batching_window_seconds must be a whole number from 0 to 300."
  }
}

variable "ingest_maximum_retry_attempts" {
  description = "Retries of a failing batch before it goes to the DLQ (0 to 10000). Unbounded retries (-1) are not allowed: a poison record would block its shard."
  type        = number
  default     = 3
  nullable    = false

  validation {
    condition     = var.ingest_maximum_retry_attempts >= 0 && var.ingest_maximum_retry_attempts <= 10000 && floor(var.ingest_maximum_retry_attempts) == var.ingest_maximum_retry_attempts
    error_message = "The ingest_maximum_retry_attempts must be a whole number from 0 to 10000."
  }
}

variable "ingest_maximum_record_age_seconds" {
  description = "Records older than this, in seconds, are sent to the DLQ instead of being processed (60 to 604800)."
  type        = number
  default     = 3600
  nullable    = false

  validation {
    condition     = var.ingest_maximum_record_age_seconds >= 60 && var.ingest_maximum_record_age_seconds <= 604800 && floor(var.ingest_maximum_record_age_seconds) == var.ingest_maximum_record_age_seconds
    error_message = "The ingest_maximum_record_age_seconds must be a whole number from 60 to 604800."
  }
}

variable "ingest_starting_position" {
  description = "Where the event source mapping starts reading the stream: TRIM_HORIZON (oldest record) or LATEST."
  type        = string
  default     = "TRIM_HORIZON"
  nullable    = false

  validation {
    condition     = contains(["TRIM_HORIZON", "LATEST"], var.ingest_starting_position)
    error_message = "The ingest_starting_position must be TRIM_HORIZON or LATEST."
  }
}

################################################################################
# Live: the second Kinesis consumer, LATEST within seconds
################################################################################

variable "live_serving_enabled" {
  description = "Whether the live consumer reads the stream and writes each series' latest value to DynamoDB within seconds (true), or LATEST waits for the aggregate (false). Costs about one DynamoDB write per series and batching window while events flow."
  type        = bool
  default     = true
  nullable    = false
}

variable "live_batching_window_seconds" {
  description = "Maximum time, in seconds, the live event source mapping gathers records before invoking live (0 to 300). Trades the API's latency for DynamoDB writes: at most one write per series per window, so at 50 events/s over 20 series, 2 s makes about 0.2 writes per event and 1 s about 0.37; an event reaches the API after up to the window plus about a second."
  type        = number
  default     = 2
  nullable    = false

  validation {
    condition     = var.live_batching_window_seconds >= 0 && var.live_batching_window_seconds <= 300 && floor(var.live_batching_window_seconds) == var.live_batching_window_seconds
    error_message = "The live_batching_window_seconds must be a whole number from 0 to 300."
  }
}

variable "live_batch_size" {
  description = "Maximum records per live invocation (1 to 10000). At a trickle and at full speed alike the 2 s window usually closes a batch first, so live runs about once per window and shard whatever the rate, with at most one write per series; 5000 records are about 4 MB of payload, under Lambda's 6 MB on every emulator (LocalStack does not cut batches at 6 MB)."
  type        = number
  default     = 5000
  nullable    = false

  validation {
    condition     = var.live_batch_size >= 1 && var.live_batch_size <= 10000 && floor(var.live_batch_size) == var.live_batch_size
    error_message = "The live_batch_size must be a whole number from 1 to 10000."
  }
}

variable "live_maximum_retry_attempts" {
  description = "Retries of a live batch whose writes failed before its on-failure record goes to the live DLQ (0 to 10000; retries are idempotent)."
  type        = number
  default     = 3
  nullable    = false

  validation {
    condition     = var.live_maximum_retry_attempts >= 0 && var.live_maximum_retry_attempts <= 10000 && floor(var.live_maximum_retry_attempts) == var.live_maximum_retry_attempts
    error_message = "The live_maximum_retry_attempts must be a whole number from 0 to 10000."
  }
}

variable "live_maximum_record_age_seconds" {
  description = "Records older than this, in seconds, go to the live DLQ instead of being offered to LATEST (60 to 604800): past it the aggregate has set LATEST from silver already."
  type        = number
  default     = 600
  nullable    = false

  validation {
    condition     = var.live_maximum_record_age_seconds >= 60 && var.live_maximum_record_age_seconds <= 604800 && floor(var.live_maximum_record_age_seconds) == var.live_maximum_record_age_seconds
    error_message = "The live_maximum_record_age_seconds must be a whole number from 60 to 604800."
  }
}

################################################################################
# Transform: asynchronous invocations from S3
################################################################################

variable "transform_maximum_event_age_seconds" {
  description = "How long, in seconds, Lambda keeps retrying an S3 event for transform before it sends the event to the transform DLQ (60 to 21600)."
  type        = number
  default     = 21600
  nullable    = false

  validation {
    condition     = var.transform_maximum_event_age_seconds >= 60 && var.transform_maximum_event_age_seconds <= 21600 && floor(var.transform_maximum_event_age_seconds) == var.transform_maximum_event_age_seconds
    error_message = "The transform_maximum_event_age_seconds must be a whole number from 60 to 21600."
  }
}

################################################################################
# Aggregate schedule and API
################################################################################

variable "aggregate_schedule_expression" {
  description = "EventBridge schedule of the aggregate function: rate(...) or cron(...). Sets how fresh the daily KPIs (and gold) are: each run folds in what arrived since the last one. rate(1 minute) is EventBridge's shortest period."
  type        = string
  default     = "rate(1 minute)"
  nullable    = false

  validation {
    condition     = can(regex("^(rate\\((1 (minute|hour|day)|[1-9][0-9]* (minutes|hours|days))\\)|cron\\(\\S+( \\S+){5}\\))$", var.aggregate_schedule_expression))
    error_message = "The aggregate_schedule_expression must be rate(<n> <unit>) (e.g. \"rate(5 minutes)\", \"rate(1 hour)\") or a six-field cron(...) expression."
  }
}

variable "aggregate_dedupe_horizon_seconds" {
  description = "How far apart, in seconds, two copies of an event may be counted by the aggregate and still be settled at once (60 to 3600). Each run reads the stream files it counted within this horizon besides the new ones; a copy landing later than this after its original counts twice in that day's KPIs until the day ends and the partition is recounted (docs/DESIGN.md, \"The aggregate\")."
  type        = number
  default     = 180
  nullable    = false

  validation {
    condition     = var.aggregate_dedupe_horizon_seconds >= 60 && var.aggregate_dedupe_horizon_seconds <= 3600 && floor(var.aggregate_dedupe_horizon_seconds) == var.aggregate_dedupe_horizon_seconds
    error_message = "The aggregate_dedupe_horizon_seconds must be a whole number from 60 to 3600."
  }
}

variable "silver_target_file_mb" {
  description = "Target size in MB of a compacted silver file (8 to 384; the merge writes through the function's 512 MB /tmp). Compaction merges files of similar size, a factor of 6 between tiers, and never merges a file at 75 % of this size or more again."
  type        = number
  default     = 128
  nullable    = false

  validation {
    condition     = var.silver_target_file_mb >= 8 && var.silver_target_file_mb <= 384 && floor(var.silver_target_file_mb) == var.silver_target_file_mb
    error_message = "The silver_target_file_mb must be a whole number from 8 to 384."
  }
}

variable "compaction_schedule_expression" {
  description = "EventBridge schedule of the compaction run (the aggregate function invoked with {\"compact\": true}): rate(...) or cron(...). It merges the silver files of partitions the aggregate counted, in its own invocation; a run with nothing due reads one DynamoDB item. Stream files wait for it after leaving the dedupe horizon, so a longer period means more files per partition (docs/DESIGN.md, \"Compaction\"). It follows aggregate_schedule_enabled."
  type        = string
  default     = "rate(1 minute)"
  nullable    = false

  validation {
    condition     = can(regex("^(rate\\((1 (minute|hour|day)|[1-9][0-9]* (minutes|hours|days))\\)|cron\\(\\S+( \\S+){5}\\))$", var.compaction_schedule_expression))
    error_message = "The compaction_schedule_expression must be rate(<n> <unit>) (e.g. \"rate(5 minutes)\") or a six-field cron(...) expression."
  }
}

variable "aggregate_schedule_enabled" {
  description = "Whether the aggregate schedule rule is ENABLED (true) or DISABLED (false)."
  type        = bool
  default     = true
  nullable    = false
}

variable "api_authorization_type" {
  description = "Authorization of the api Function URL on AWS (dev, prod): AWS_IAM (callers need lambda:InvokeFunctionUrl and lambda:InvokeFunction) or NONE (public). Local always uses NONE. A public URL created since October 2025 also needs lambda:InvokeFunction with the InvokedViaFunctionUrl condition, which hashicorp/aws 5.x cannot express: prefer AWS_IAM."
  type        = string
  default     = "AWS_IAM"
  nullable    = false

  validation {
    condition     = contains(["NONE", "AWS_IAM"], var.api_authorization_type)
    error_message = "The api_authorization_type must be NONE or AWS_IAM."
  }
}

################################################################################
# Analytics (AWS environments): Glue catalog and Athena
################################################################################

variable "lake_projection_start_date" {
  description = "First day (yyyy-MM-dd) of the dt partitions Athena projects for the Glue tables; the range ends tomorrow (NOW+1DAYS). Events of earlier days stay in the lake but are invisible to Athena, and a query without a dt filter lists every projected day, so keep it close to the oldest data."
  type        = string
  default     = "2020-01-01"
  nullable    = false

  validation {
    condition     = can(regex("^[0-9]{4}-[0-9]{2}-[0-9]{2}$", var.lake_projection_start_date)) && can(formatdate("YYYY", "${var.lake_projection_start_date}T00:00:00Z"))
    error_message = "The lake_projection_start_date must be a real date written yyyy-MM-dd, e.g. \"2020-01-01\"."
  }
}

variable "athena_bytes_scanned_cutoff_mb" {
  description = "Athena cancels a query of the workgroup once it has scanned this many MB (at least 10, Athena's minimum). Athena bills $5 per TB scanned, so the default 1024 MB caps a query at about half a cent."
  type        = number
  default     = 1024
  nullable    = false

  validation {
    condition     = var.athena_bytes_scanned_cutoff_mb >= 10 && floor(var.athena_bytes_scanned_cutoff_mb) == var.athena_bytes_scanned_cutoff_mb
    error_message = "The athena_bytes_scanned_cutoff_mb must be a whole number of at least 10."
  }
}

variable "athena_results_expiration_days" {
  description = "Days after which Athena query results expire from the results bucket (1 to 365)."
  type        = number
  default     = 7
  nullable    = false

  validation {
    condition     = var.athena_results_expiration_days >= 1 && var.athena_results_expiration_days <= 365 && floor(var.athena_results_expiration_days) == var.athena_results_expiration_days
    error_message = "The athena_results_expiration_days must be a whole number from 1 to 365."
  }
}

################################################################################
# Alarms and cost guard (AWS environments)
################################################################################

variable "alarm_email" {
  description = "Email address subscribed to the alarm topic (CloudWatch alarms and budget alerts). AWS sends a confirmation link first. null (the default): no subscription; subscribe to the topic (output alarm_topic_arn) yourself."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_email == null || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alarm_email))
    error_message = "The alarm_email must be an email address such as \"ops@example.com\", or null."
  }
}

variable "monthly_budget_usd" {
  description = "Monthly AWS Budget of the environment, in USD: the alarm topic is notified when the account's actual or forecasted cost of the month exceeds it (budgets are account-wide). null (the default): the environment's value (local.environment_defaults in main.tf)."
  type        = number
  default     = null

  validation {
    condition     = var.monthly_budget_usd == null ? true : var.monthly_budget_usd > 0
    error_message = "The monthly_budget_usd must be null or greater than 0."
  }
}

variable "iterator_age_alarm_seconds" {
  description = "The ingest iterator-age alarm fires when the oldest record ingest reads has waited longer than this, in seconds, for 5 minutes in a row. Must be less than ingest_maximum_record_age_seconds (checked at plan time)."
  type        = number
  default     = 600
  nullable    = false

  validation {
    condition     = var.iterator_age_alarm_seconds >= 60 && var.iterator_age_alarm_seconds <= 604800 && floor(var.iterator_age_alarm_seconds) == var.iterator_age_alarm_seconds
    error_message = "The iterator_age_alarm_seconds must be a whole number from 60 to 604800."
  }
}

################################################################################
# Audit (AWS environments): CloudTrail
################################################################################

variable "cloudtrail_s3_data_events" {
  description = "Whether the environment's trail also records S3 object-level (data) events of the lake's buckets: who read, wrote or deleted which object. Billed per event ($0.10 per 100,000), so off where traffic is test traffic. null (the default): the environment's value (local.environment_defaults in main.tf)."
  type        = bool
  default     = null
}

variable "audit_log_retention_days" {
  description = "Days the trail's log files are kept in its bucket before they expire (1 to 3653). null (the default): the environment's value (local.environment_defaults in main.tf)."
  type        = number
  default     = null

  validation {
    condition     = var.audit_log_retention_days == null ? true : (var.audit_log_retention_days >= 1 && var.audit_log_retention_days <= 3653 && floor(var.audit_log_retention_days) == var.audit_log_retention_days)
    error_message = "The audit_log_retention_days must be null or a whole number from 1 to 3653."
  }
}
