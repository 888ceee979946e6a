# environment = "local": emulator-friendly settings. Plan only, against a mocked provider.
# Run from the repository root: terraform test -test-directory=tests/terraform

mock_provider "aws" {
  # Mock values (valid ARNs, see mocks/) are used at plan time, so policies are known and checkable.
  override_during = plan
  source          = "./tests/terraform/mocks"
}

variables {
  environment     = "local"
  lambda_zip_path = "tests/terraform/fixtures/lambda.zip"
}

run "buckets_are_versioned_private_and_encrypted" {
  command = plan

  assert {
    condition     = toset(keys(module.lake_bucket)) == toset(["bronze", "silver", "gold", "artifacts"])
    error_message = "Expected exactly the bronze, silver, gold and artifacts buckets."
  }

  assert {
    condition     = alltrue([for k, b in module.lake_bucket : b.id == "econ-lake-local-${k}"])
    error_message = "Local bucket names must be <project>-local-<layer>, without an account id."
  }

  assert {
    condition     = alltrue([for b in module.lake_bucket : b.force_destroy])
    error_message = "Local buckets must be force_destroy so the stack can be torn down."
  }

  assert {
    condition     = alltrue([for b in module.lake_bucket : b.versioning_status == "Enabled"])
    error_message = "Every bucket must have versioning Enabled."
  }

  assert {
    condition = alltrue([
      for b in module.lake_bucket : b.public_access_blocked
    ])
    error_message = "Every bucket must block all public access."
  }

  assert {
    condition = alltrue([
      for b in module.lake_bucket : b.encryption.sse_algorithm == "AES256"
    ])
    error_message = "Local buckets must use SSE-S3 (AES256)."
  }

  # Every local request reaches the emulator over plain http: a TLS-only policy would deny them all.
  assert {
    condition     = alltrue([for b in module.lake_bucket : b.policy == null])
    error_message = "The TLS-only bucket policy must not be created in local."
  }
}

run "bronze_lifecycle" {
  command = plan

  assert {
    condition     = module.lake_bucket["bronze"].lifecycle_rule.id == "bronze-tiering-and-expiry"
    error_message = "The bronze bucket must have the tiering and expiry rule."
  }

  assert {
    condition     = module.lake_bucket["bronze"].lifecycle_rule.status == "Enabled"
    error_message = "The bronze lifecycle rule must be enabled."
  }

  assert {
    condition = (
      one(module.lake_bucket["bronze"].lifecycle_rule.transition).days == 30 &&
      one(module.lake_bucket["bronze"].lifecycle_rule.transition).storage_class == "STANDARD_IA"
    )
    error_message = "Bronze objects must move to STANDARD_IA after 30 days by default."
  }

  assert {
    condition     = module.lake_bucket["bronze"].lifecycle_rule.expiration[0].days == 90
    error_message = "Bronze objects must expire after 90 days by default."
  }

  assert {
    condition     = module.lake_bucket["bronze"].lifecycle_rule.noncurrent_version_expiration[0].noncurrent_days == 7
    error_message = "Noncurrent bronze versions must expire after 7 days."
  }

  assert {
    condition     = module.lake_bucket["bronze"].lifecycle_rule.abort_incomplete_multipart_upload[0].days_after_initiation == 1
    error_message = "Incomplete multipart uploads must be aborted after 1 day."
  }
}

run "stream_table_and_queue" {
  command = plan

  assert {
    condition     = aws_kinesis_stream.events.name == "econ-lake-local-events"
    error_message = "Unexpected stream name."
  }

  assert {
    condition     = aws_kinesis_stream.events.stream_mode_details[0].stream_mode == "PROVISIONED" && aws_kinesis_stream.events.shard_count == 2
    error_message = "Local stream must be PROVISIONED with kinesis_shard_count (2) shards."
  }

  assert {
    condition     = aws_kinesis_stream.events.encryption_type == "NONE" && aws_kinesis_stream.events.retention_period == 24
    error_message = "Local stream must be unencrypted with 24 h retention."
  }

  assert {
    condition = (
      aws_dynamodb_table.lake.name == "econ-lake-local-lake" &&
      aws_dynamodb_table.lake.billing_mode == "PAY_PER_REQUEST" &&
      aws_dynamodb_table.lake.hash_key == "pk" &&
      aws_dynamodb_table.lake.range_key == "sk"
    )
    error_message = "The table must be PAY_PER_REQUEST with keys pk/sk."
  }

  assert {
    condition     = toset([for a in aws_dynamodb_table.lake.attribute : "${a.name}:${a.type}"]) == toset(["pk:S", "sk:S"])
    error_message = "pk and sk must be string attributes."
  }

  assert {
    condition     = aws_dynamodb_table.lake.ttl[0].attribute_name == "expires_at" && aws_dynamodb_table.lake.ttl[0].enabled
    error_message = "TTL must be enabled on expires_at."
  }

  assert {
    condition     = !aws_dynamodb_table.lake.point_in_time_recovery[0].enabled
    error_message = "PITR must be off in local."
  }

  assert {
    condition     = aws_sqs_queue.ingest_dlq.message_retention_seconds == 1209600 && aws_sqs_queue.ingest_dlq.sqs_managed_sse_enabled
    error_message = "The DLQ must keep messages 14 days with SQS-managed SSE."
  }
}

run "event_source_mapping" {
  command = plan

  assert {
    condition = (
      aws_lambda_event_source_mapping.stream["ingest"].event_source_arn == aws_kinesis_stream.events.arn &&
      aws_lambda_event_source_mapping.stream["ingest"].function_name == module.ingest_function.function_arn
    )
    error_message = "The mapping must connect the stream to ingest."
  }

  assert {
    condition = (
      aws_lambda_event_source_mapping.stream["ingest"].starting_position == "TRIM_HORIZON" &&
      aws_lambda_event_source_mapping.stream["ingest"].batch_size == 2000 &&
      aws_lambda_event_source_mapping.stream["ingest"].maximum_batching_window_in_seconds == 20 &&
      aws_lambda_event_source_mapping.stream["ingest"].parallelization_factor == 1
    )
    error_message = "Unexpected batching settings."
  }

  assert {
    condition = (
      aws_lambda_event_source_mapping.stream["ingest"].bisect_batch_on_function_error &&
      aws_lambda_event_source_mapping.stream["ingest"].maximum_retry_attempts == 3 &&
      aws_lambda_event_source_mapping.stream["ingest"].maximum_record_age_in_seconds == 3600
    )
    error_message = "Unexpected error-handling settings."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.stream["ingest"].function_response_types == toset(["ReportBatchItemFailures"])
    error_message = "ingest must report partial batch failures."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.stream["ingest"].destination_config[0].on_failure[0].destination_arn == aws_sqs_queue.ingest_dlq.arn
    error_message = "Failed batches must go to the ingest DLQ."
  }
}

run "transform_failures_are_parked_in_their_dlq" {
  command = plan

  # The mock gives every queue the same ARN; a distinct one shows which queue each reference names.
  override_resource {
    target          = aws_sqs_queue.transform_dlq
    override_during = plan
    values = {
      arn = "arn:aws:sqs:us-east-1:123456789012:mock-transform-dlq"
      url = "https://sqs.us-east-1.amazonaws.com/123456789012/mock-transform-dlq"
    }
  }

  assert {
    condition = (
      aws_sqs_queue.transform_dlq.name == "econ-lake-local-transform-dlq" &&
      aws_sqs_queue.transform_dlq.message_retention_seconds == 1209600 &&
      aws_sqs_queue.transform_dlq.sqs_managed_sse_enabled
    )
    error_message = "The transform DLQ must be <prefix>-transform-dlq, keep messages 14 days and use SQS-managed SSE."
  }

  assert {
    condition = (
      aws_lambda_function_event_invoke_config.transform.function_name == module.transform_function.function_name &&
      aws_lambda_function_event_invoke_config.transform.maximum_retry_attempts == 2 &&
      aws_lambda_function_event_invoke_config.transform.maximum_event_age_in_seconds == 21600
    )
    error_message = "transform's asynchronous invocations must retry twice, for up to 6 hours by default."
  }

  assert {
    condition     = aws_lambda_function_event_invoke_config.transform.destination_config[0].on_failure[0].destination == "arn:aws:sqs:us-east-1:123456789012:mock-transform-dlq"
    error_message = "Failed asynchronous transform invocations must go to the transform DLQ."
  }

  assert {
    condition = [
      for st in jsondecode(module.transform_function.role_policy_json).Statement : st.Resource
      if contains(flatten([st.Action]), "sqs:SendMessage")
    ] == [["arn:aws:sqs:us-east-1:123456789012:mock-transform-dlq"]]
    error_message = "transform may send to the transform DLQ only (Lambda writes the on-failure record with its role)."
  }

  assert {
    condition = !contains(flatten([
      for st in jsondecode(module.ingest_function.role_policy_json).Statement : st.Resource
    ]), "arn:aws:sqs:us-east-1:123456789012:mock-transform-dlq")
    error_message = "ingest must not be able to send to the transform DLQ."
  }

  assert {
    condition     = output.transform_dlq_url == "https://sqs.us-east-1.amazonaws.com/123456789012/mock-transform-dlq"
    error_message = "transform_dlq_url must expose the transform DLQ's URL."
  }
}

run "functions_and_least_privilege" {
  command = plan

  assert {
    condition     = toset(keys(local.lambda_functions)) == toset(["ingest", "transform", "aggregate", "api", "live"])
    error_message = "Expected the five functions."
  }

  assert {
    condition     = length(distinct([for fn in local.lambda_functions : fn.role_name])) == 5
    error_message = "Every function needs its own IAM role."
  }

  assert {
    condition     = output.function_names == { for k in ["ingest", "transform", "aggregate", "api", "live"] : k => "econ-lake-local-${k}" }
    error_message = "Function names must be <project>-<environment>-<name>."
  }

  assert {
    condition = alltrue(flatten([
      for fn in local.lambda_functions : [
        for st in jsondecode(fn.role_policy_json).Statement : [
          for action in flatten([st.Action]) : !strcontains(action, "*")
        ]
      ]
    ]))
    error_message = "No IAM action may contain \"*\"."
  }

  assert {
    condition = alltrue(flatten([
      for fn in local.lambda_functions : [
        for st in jsondecode(fn.role_policy_json).Statement : st.Effect == "Allow"
      ]
    ]))
    error_message = "Execution role policies must only contain Allow statements."
  }

  assert {
    condition = alltrue([
      for fn in local.lambda_functions :
      contains(flatten([for st in jsondecode(fn.role_policy_json).Statement : st.Action]), "logs:PutLogEvents")
    ])
    error_message = "Every function must be able to write its own logs."
  }

  assert {
    condition = alltrue([
      for fn in local.lambda_functions : [
        for st in jsondecode(fn.role_policy_json).Statement : st.Resource if st.Sid == "WriteOwnLogs"
      ] == [["arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/mock:*"]]
    ])
    error_message = "Log permissions must be scoped to the function's own log group."
  }

  assert {
    condition = toset(flatten([for st in jsondecode(module.api_function.role_policy_json).Statement : st.Action])) == toset([
      "logs:CreateLogStream", "logs:PutLogEvents", "dynamodb:Query", "dynamodb:GetItem",
    ])
    error_message = "api may only read DynamoDB (plus its logs)."
  }

  assert {
    condition = toset(flatten([for st in jsondecode(module.ingest_function.role_policy_json).Statement : st.Action])) == toset([
      "logs:CreateLogStream", "logs:PutLogEvents",
      "kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords",
      "kinesis:GetShardIterator", "kinesis:ListShards", "kinesis:SubscribeToShard",
      "s3:PutObject", "sqs:SendMessage",
    ])
    error_message = "Unexpected actions in the ingest policy."
  }

  assert {
    condition = toset(flatten([for st in jsondecode(module.ingest_function.role_policy_json).Statement : st.Resource if st.Sid == "WriteBronzeStreamAndQuarantine"])) == toset([
      "arn:aws:s3:::mock-bucket/stream/*", "arn:aws:s3:::mock-bucket/quarantine/*",
    ])
    error_message = "ingest may only write bronze stream/ and quarantine/."
  }
}

run "triggers" {
  command = plan

  assert {
    condition     = toset([for f in aws_s3_bucket_notification.bronze.lambda_function : f.filter_prefix]) == toset(["stream/", "uploads/"])
    error_message = "Only stream/ and uploads/ may trigger transform (never quarantine/)."
  }

  assert {
    condition = alltrue([
      for f in aws_s3_bucket_notification.bronze.lambda_function :
      f.events == toset(["s3:ObjectCreated:*"]) && f.lambda_function_arn == module.transform_function.function_arn
    ])
    error_message = "Bronze ObjectCreated events must go to transform."
  }

  assert {
    condition = (
      aws_cloudwatch_event_rule.aggregate.name == "econ-lake-local-aggregate-schedule" &&
      aws_cloudwatch_event_rule.aggregate.schedule_expression == "rate(1 minute)" &&
      aws_cloudwatch_event_rule.aggregate.state == "ENABLED"
    )
    error_message = "Unexpected aggregate schedule."
  }

  assert {
    condition     = aws_cloudwatch_event_target.aggregate.arn == module.aggregate_function.function_arn
    error_message = "The schedule must target aggregate."
  }

  assert {
    condition     = aws_lambda_function_url.api.authorization_type == "NONE"
    error_message = "Local Function URL must be unauthenticated."
  }

  assert {
    condition     = output.api_url == "https://mock.lambda-url.us-east-1.on.aws/"
    error_message = "api_url must expose the Function URL."
  }
}

run "schedule_can_be_disabled" {
  command = plan

  variables {
    aggregate_schedule_enabled    = false
    aggregate_schedule_expression = "cron(0/10 * * * ? *)"
  }

  assert {
    condition     = aws_cloudwatch_event_rule.aggregate.state == "DISABLED"
    error_message = "aggregate_schedule_enabled = false must disable the rule."
  }
}

run "no_glue_athena_alarms_or_budget_in_local" {
  command = plan

  # LocalStack community and the embedded emulator have no Glue, Athena or Budgets.
  assert {
    condition = (
      length(aws_glue_catalog_database.lake) == 0 &&
      length(aws_glue_catalog_table.lake) == 0 &&
      length(aws_athena_workgroup.lake) == 0 &&
      length(aws_athena_named_query.events_exactly_once) == 0 &&
      length(module.athena_results_bucket) == 0 &&
      length(module.athena_results_key) == 0
    )
    error_message = "Glue and Athena resources must not exist in local."
  }

  assert {
    condition = (
      length(aws_sns_topic.alarms) == 0 &&
      length(module.alarm_topic_key) == 0 &&
      length(aws_sns_topic_subscription.alarm_email) == 0 &&
      length(aws_cloudwatch_metric_alarm.ingest_iterator_age) == 0 &&
      length(aws_cloudwatch_metric_alarm.count_above_zero) == 0 &&
      length(aws_budgets_budget.monthly) == 0
    )
    error_message = "Alarms, the alarm topic and the budget must not exist in local."
  }

  assert {
    condition = (
      length(aws_cloudtrail.lake) == 0 &&
      length(module.audit_trail_bucket) == 0 &&
      length(module.audit_key) == 0 &&
      !aws_dynamodb_table.lake.deletion_protection_enabled
    )
    error_message = "No trail (the emulators have no CloudTrail) and no deletion protection in local."
  }

  assert {
    condition     = output.glue_database == null && output.athena_workgroup == null && output.alarm_topic_arn == null && output.state_backend == null
    error_message = "The AWS-only outputs must be null in local (its state is a local file unless STATE_BUCKET names one)."
  }
}

run "alarm_email_is_ignored_in_local" {
  command = plan

  variables {
    alarm_email = "ops@example.com"
  }

  assert {
    condition     = length(aws_sns_topic_subscription.alarm_email) == 0
    error_message = "No subscription in local, even with alarm_email."
  }
}

run "live_consumer_serves_latest_within_seconds" {
  command = plan

  assert {
    condition = (
      aws_lambda_event_source_mapping.stream["live"].event_source_arn == aws_kinesis_stream.events.arn &&
      aws_lambda_event_source_mapping.stream["live"].function_name == module.live_function.function_arn &&
      aws_lambda_event_source_mapping.stream["live"].starting_position == "LATEST"
    )
    error_message = "The live mapping must connect the stream to live, from the stream's end."
  }

  assert {
    condition = (
      aws_lambda_event_source_mapping.stream["live"].maximum_batching_window_in_seconds == 2 &&
      aws_lambda_event_source_mapping.stream["live"].batch_size == 5000 &&
      aws_lambda_event_source_mapping.stream["live"].maximum_batching_window_in_seconds < aws_lambda_event_source_mapping.stream["ingest"].maximum_batching_window_in_seconds
    )
    error_message = "The serving path batches for seconds, the lake's for longer."
  }

  assert {
    condition = (
      aws_lambda_event_source_mapping.stream["live"].function_response_types == toset(["ReportBatchItemFailures"]) &&
      aws_lambda_event_source_mapping.stream["live"].bisect_batch_on_function_error &&
      aws_lambda_event_source_mapping.stream["live"].maximum_retry_attempts == 3 &&
      aws_lambda_event_source_mapping.stream["live"].maximum_record_age_in_seconds == 600 &&
      one(one(aws_lambda_event_source_mapping.stream["live"].destination_config).on_failure).destination_arn == aws_sqs_queue.live_dlq.arn
    )
    error_message = "Failed live batches must be retried, then parked in the live DLQ."
  }

  assert {
    condition = {
      for st in jsondecode(module.live_function.role_policy_json).Statement : st.Sid => join(",", sort(flatten([st.Action])))
      if st.Sid != "WriteOwnLogs"
      } == {
      ReadEventStream  = "kinesis:DescribeStream,kinesis:DescribeStreamSummary,kinesis:GetRecords,kinesis:GetShardIterator,kinesis:ListShards,kinesis:SubscribeToShard"
      WriteLatestItems = "dynamodb:PutItem"
      SendToLiveDlq    = "sqs:SendMessage"
    }
    error_message = "live may read the stream, put items and send to its DLQ, nothing else."
  }
}

run "live_serving_can_be_turned_off" {
  command = plan

  variables {
    live_serving_enabled = false
  }

  assert {
    condition     = !contains(keys(aws_lambda_event_source_mapping.stream), "live")
    error_message = "live_serving_enabled = false must remove the live mapping."
  }
}
