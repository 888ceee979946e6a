output "environment" {
  description = "Deployment target these resources belong to (local or prod)."
  value       = var.environment
}

output "bronze_bucket" {
  description = "Name of the bronze (raw) bucket: stream/, uploads/ and quarantine/."
  value       = aws_s3_bucket.this["bronze"].id
}

output "silver_bucket" {
  description = "Name of the silver bucket: typed Parquet under events/."
  value       = aws_s3_bucket.this["silver"].id
}

output "gold_bucket" {
  description = "Name of the gold bucket: daily KPIs under kpis_diarios/."
  value       = aws_s3_bucket.this["gold"].id
}

output "artifacts_bucket" {
  description = "Name of the bucket holding the Lambda deployment package."
  value       = aws_s3_bucket.this["artifacts"].id
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

output "function_names" {
  description = "Lambda function names keyed by role: ingest, transform, aggregate, api."
  value       = { for name, fn in module.lambda : name => fn.function_name }
}

output "api_url" {
  description = "Function URL of the api function."
  value       = aws_lambda_function_url.api.function_url
}
