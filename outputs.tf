output "environment" {
  description = "Deployment target these resources belong to (local, dev or prod)."
  value       = var.environment
}

output "bronze_bucket" {
  description = "Name of the bronze (raw) bucket: stream/, uploads/ and quarantine/."
  value       = module.lake_bucket["bronze"].id
}

output "silver_bucket" {
  description = "Name of the silver bucket: typed Parquet under events/."
  value       = module.lake_bucket["silver"].id
}

output "gold_bucket" {
  description = "Name of the gold bucket: daily KPIs under kpis_diarios/."
  value       = module.lake_bucket["gold"].id
}

output "artifacts_bucket" {
  description = "Name of the bucket holding the Lambda deployment package."
  value       = module.lake_bucket["artifacts"].id
}

output "stream_name" {
  description = "Name of the Kinesis stream producers write events to."
  value       = aws_kinesis_stream.events.name
}

output "stream_arn" {
  description = "ARN of the Kinesis event stream."
  value       = aws_kinesis_stream.events.arn
}

output "table_name" {
  description = "Name of the DynamoDB single table (pk, sk, TTL expires_at)."
  value       = aws_dynamodb_table.lake.name
}

output "dlq_url" {
  description = "URL of the ingest DLQ: Kinesis batches that exhausted their retries (Lambda's on-failure record with KinesisBatchInfo). `make redrive` re-drives them."
  value       = aws_sqs_queue.ingest_dlq.url
}

output "transform_dlq_url" {
  description = "URL of the transform DLQ: S3 events whose asynchronous transform invocation failed after its retries (Lambda's on-failure record, the event in requestPayload). `make redrive` re-drives them."
  value       = aws_sqs_queue.transform_dlq.url
}

output "live_dlq_url" {
  description = "URL of the live DLQ: on-failure records of stream batches the live function could not write to LATEST (`make redrive`)."
  value       = aws_sqs_queue.live_dlq.url
}

output "function_names" {
  description = "Lambda function names keyed by role: ingest, transform, aggregate, api."
  value       = { for name, fn in local.lambda_functions : name => fn.function_name }
}

output "api_url" {
  description = "Function URL of the api function."
  value       = aws_lambda_function_url.api.function_url
}

output "glue_database" {
  description = "Glue database of the lake's Athena tables (events, kpis_diarios); null in local (AWS environments only)."
  value       = one(aws_glue_catalog_database.lake[*].name)
}

output "athena_workgroup" {
  description = "Athena workgroup to query the lake with (its results location, encryption and scan limit are enforced); null in local (AWS environments only)."
  value       = one(aws_athena_workgroup.lake[*].name)
}

output "athena_results_bucket" {
  description = "Bucket holding the Athena workgroup's query results (expire after athena_results_expiration_days); null in local (AWS environments only)."
  value       = one(module.athena_results_bucket[*].id)
}

output "athena_events_exactly_once_query_id" {
  description = "Id of the saved Athena query that creates the events_exactly_once view (the read rule); null in local (AWS environments only)."
  value       = one(aws_athena_named_query.events_exactly_once[*].id)
}

output "alarm_topic_arn" {
  description = "ARN of the SNS topic that CloudWatch alarms and the monthly budget notify; null in local (AWS environments only)."
  value       = local.alarm_topic_arn
}

output "state_backend" {
  description = "The S3 backend of this environment's state (AWS environments; null for local): the state bucket bootstrap/ creates by default in this account, the key <project>/<environment>/terraform.tfstate, encrypt and use_lockfile (S3 native locking). From bootstrap/state_backend.json, which tools/state_backend.py (`make tf-init`) writes into backend_override.tf; its region is the state bucket's (STATE_REGION), not necessarily aws_region."
  value = local.is_local ? null : {
    bucket       = templatestring(local.state_backend.bucket, { project = var.project, account_id = local.account_id })
    key          = templatestring(local.state_backend.key, { project = var.project, environment = var.environment })
    encrypt      = local.state_backend.encrypt
    use_lockfile = local.state_backend.use_lockfile
  }
}
