# What every AWS environment (dev and prod) has, whatever its settings: asserted once here.
# Plan only, against a mocked provider (mocks/ gives the account id 123456789012).
#
# The code branches on the environment in two ways only: local versus AWS (local.is_local), and
# the settings of local.environment_defaults (main.tf). So an assert that holds for one AWS
# environment holds for the other, apart from names and those settings: names are written with
# var.environment here, and dev.tftest.hcl and prod.tftest.hcl assert each environment's names
# and settings (and nothing else). Run with environment = "dev" this file passes too.

mock_provider "aws" {
  override_during = plan
  source          = "./tests/terraform/mocks"
}

variables {
  environment     = "prod"
  lambda_zip_path = "tests/terraform/fixtures/lambda.zip"
}

run "buckets_use_kms_and_require_tls" {
  command = plan

  assert {
    condition = alltrue([
      for b in module.lake_bucket :
      b.encryption.sse_algorithm == "aws:kms" &&
      b.encryption.kms_master_key_id == null &&
      b.encryption.bucket_key_enabled
    ])
    error_message = "The lake buckets must use SSE-KMS with the AWS-managed key and S3 Bucket Keys."
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
    condition     = toset([for k, b in module.lake_bucket : k if b.policy != null]) == toset(["bronze", "silver", "gold", "artifacts"])
    error_message = "Every bucket needs a TLS-only bucket policy."
  }

  assert {
    condition = alltrue([
      for b in module.lake_bucket :
      strcontains(b.policy, "aws:SecureTransport") &&
      jsondecode(b.policy).Statement[0].Effect == "Deny" &&
      jsondecode(b.policy).Statement[0].Principal == "*" &&
      jsondecode(b.policy).Statement[0].Condition.Bool["aws:SecureTransport"] == "false" &&
      length(jsondecode(b.policy).Statement[0].Resource) == 2
    ])
    error_message = "The bucket policy must deny every non-TLS request on the bucket and its objects."
  }
}

run "stream_is_on_demand_and_encrypted" {
  command = plan

  assert {
    condition     = aws_kinesis_stream.events.stream_mode_details[0].stream_mode == "ON_DEMAND" && aws_kinesis_stream.events.shard_count == null
    error_message = "The stream must be ON_DEMAND without a shard count."
  }

  assert {
    condition     = aws_kinesis_stream.events.encryption_type == "KMS" && aws_kinesis_stream.events.kms_key_id == "alias/aws/kinesis"
    error_message = "The stream must be encrypted with the AWS-managed Kinesis key."
  }
}

run "table_has_pitr" {
  command = plan

  assert {
    condition     = aws_dynamodb_table.lake.point_in_time_recovery[0].enabled
    error_message = "PITR is on in every AWS environment (backups are part of what dev tries before prod)."
  }

  assert {
    condition     = aws_dynamodb_table.lake.name == "econ-lake-${var.environment}-lake"
    error_message = "Unexpected table name."
  }
}

run "api_url_requires_iam_by_default" {
  command = plan

  assert {
    condition     = aws_lambda_function_url.api.authorization_type == "AWS_IAM"
    error_message = "The Function URL must default to AWS_IAM."
  }

  assert {
    condition     = length(module.api_function.permission_statement_ids) == 0
    error_message = "No public permission may exist for an AWS_IAM Function URL."
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
    condition     = length(distinct([for fn in local.lambda_functions : fn.role_arn])) >= 1 && length(local.lambda_functions) == 5
    error_message = "Expected five functions with roles."
  }
}

run "transform_failures_are_parked_in_their_dlq" {
  command = plan

  override_resource {
    target          = aws_sqs_queue.transform_dlq
    override_during = plan
    values = {
      arn = "arn:aws:sqs:us-east-1:123456789012:mock-transform-dlq"
    }
  }

  assert {
    condition     = aws_sqs_queue.transform_dlq.name == "econ-lake-${var.environment}-transform-dlq" && aws_sqs_queue.transform_dlq.sqs_managed_sse_enabled
    error_message = "The transform DLQ must be <project>-<environment>-transform-dlq with SQS-managed SSE."
  }

  assert {
    condition = (
      aws_lambda_function_event_invoke_config.transform.maximum_retry_attempts == 2 &&
      aws_lambda_function_event_invoke_config.transform.destination_config[0].on_failure[0].destination == "arn:aws:sqs:us-east-1:123456789012:mock-transform-dlq"
    )
    error_message = "transform's failed asynchronous invocations must go to the transform DLQ after 2 retries."
  }

  assert {
    condition = [
      for st in jsondecode(module.transform_function.role_policy_json).Statement : st.Resource
      if contains(flatten([st.Action]), "sqs:SendMessage")
    ] == [["arn:aws:sqs:us-east-1:123456789012:mock-transform-dlq"]]
    error_message = "transform may send to the transform DLQ only."
  }
}

run "functions_log_to_their_groups" {
  command = plan

  # Module outputs are all the root can see: the log group names must follow /aws/lambda/<name>.
  assert {
    condition     = alltrue([for k, fn in local.lambda_functions : fn.log_group_name == "/aws/lambda/econ-lake-${var.environment}-${k}"])
    error_message = "Every function needs its /aws/lambda/<name> log group."
  }
}

run "public_api_when_requested" {
  command = plan

  variables {
    api_authorization_type = "NONE"
  }

  assert {
    condition     = aws_lambda_function_url.api.authorization_type == "NONE"
    error_message = "api_authorization_type = NONE must make the URL public."
  }

  assert {
    condition     = module.api_function.permission_statement_ids == ["AllowPublicFunctionUrl"]
    error_message = "A public URL needs the lambda:InvokeFunctionUrl permission for principal *."
  }
}

run "glue_tables_project_the_lake_partitions" {
  command = plan

  assert {
    condition     = aws_glue_catalog_database.lake[0].name == "econ_lake_${var.environment}"
    error_message = "The Glue database must be <project>_<environment> (no dashes, for Athena)."
  }

  assert {
    condition = (
      aws_glue_catalog_table.lake["events"].database_name == "econ_lake_${var.environment}" &&
      aws_glue_catalog_table.lake["events"].table_type == "EXTERNAL_TABLE" &&
      aws_glue_catalog_table.lake["events"].storage_descriptor[0].location == "s3://econ-lake-${var.environment}-silver-123456789012/events/" &&
      aws_glue_catalog_table.lake["events"].parameters["storage.location.template"] == "s3://econ-lake-${var.environment}-silver-123456789012/events/indicador=$${indicador}/dt=$${dt}/"
    )
    error_message = "The events table must read silver events/ with the indicador=/dt= layout."
  }

  assert {
    condition = (
      aws_glue_catalog_table.lake["kpis_diarios"].database_name == "econ_lake_${var.environment}" &&
      aws_glue_catalog_table.lake["kpis_diarios"].storage_descriptor[0].location == "s3://econ-lake-${var.environment}-gold-123456789012/kpis_diarios/" &&
      aws_glue_catalog_table.lake["kpis_diarios"].parameters["storage.location.template"] == "s3://econ-lake-${var.environment}-gold-123456789012/kpis_diarios/indicador=$${indicador}/dt=$${dt}/"
    )
    error_message = "The kpis_diarios table must read gold kpis_diarios/ with the indicador=/dt= layout."
  }

  assert {
    condition = alltrue([
      for t in [aws_glue_catalog_table.lake["events"], aws_glue_catalog_table.lake["kpis_diarios"]] :
      t.parameters["projection.enabled"] == "true" &&
      t.parameters["projection.indicador.type"] == "enum" &&
      t.parameters["projection.indicador.values"] == "PIB,Inflacion,Desempleo,TasaInteres" &&
      t.parameters["projection.dt.type"] == "date" &&
      t.parameters["projection.dt.format"] == "yyyy-MM-dd" &&
      t.parameters["projection.dt.range"] == "2020-01-01,NOW+1DAYS" &&
      [for k in t.partition_keys : "${k.name}:${k.type}"] == ["indicador:string", "dt:string"]
    ])
    error_message = "Both tables need partition projection: indicador (enum of datos/indicadores.csv) and dt (date, yyyy-MM-dd)."
  }

  assert {
    condition = alltrue([
      for t in [aws_glue_catalog_table.lake["events"], aws_glue_catalog_table.lake["kpis_diarios"]] :
      t.storage_descriptor[0].ser_de_info[0].serialization_library == "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe" &&
      t.storage_descriptor[0].input_format == "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
    ])
    error_message = "Both tables are Parquet."
  }

  assert {
    condition = [for c in aws_glue_catalog_table.lake["events"].storage_descriptor[0].columns : "${c.name}:${c.type}"] == [
      "event_id:string", "schema_version:smallint", "timestamp:timestamp", "pais:string", "valor:double", "fuente:string",
      "unidad:string", "received_order:string",
    ]
    error_message = "The events columns must follow pipeline.schema.SILVER_FILE_SCHEMA."
  }

  assert {
    condition = [for c in aws_glue_catalog_table.lake["kpis_diarios"].storage_descriptor[0].columns : "${c.name}:${c.type}"] == [
      "pais:string", "count:bigint", "mean:double", "min:double", "max:double", "stddev:double", "last_valor:double", "last_timestamp:timestamp",
      "last_unidad:string",
    ]
    error_message = "The kpis_diarios columns must follow pipeline.schema.GOLD_SCHEMA."
  }

  assert {
    condition     = strcontains(aws_glue_catalog_table.lake["events"].description, "read rule")
    error_message = "The events table must tell readers to apply the read rule."
  }

  assert {
    condition = (
      aws_athena_named_query.events_exactly_once[0].name == "events_exactly_once" &&
      aws_athena_named_query.events_exactly_once[0].database == "econ_lake_${var.environment}" &&
      strcontains(aws_athena_named_query.events_exactly_once[0].query, "CREATE OR REPLACE VIEW events_exactly_once") &&
      strcontains(aws_athena_named_query.events_exactly_once[0].query, "PARTITION BY indicador, dt, event_id ORDER BY CASE WHEN regexp_extract(\"$path\", '[^/]+$') LIKE 'u-%' THEN 1 ELSE 0 END, received_order ASC NULLS LAST") &&
      strcontains(aws_athena_named_query.events_exactly_once[0].query, "WHERE copy_rank = 1")
    )
    error_message = "The saved query events_exactly_once must create the view with the read rule (stream before upload, then received_order; generated into sql/)."
  }

  assert {
    condition     = output.glue_database == "econ_lake_${var.environment}"
    error_message = "glue_database must expose the database name."
  }
}

run "athena_workgroup_has_its_own_results_bucket" {
  command = plan

  assert {
    condition = (
      aws_athena_workgroup.lake[0].name == "econ-lake-${var.environment}-lake" &&
      aws_athena_workgroup.lake[0].configuration[0].enforce_workgroup_configuration &&
      aws_athena_workgroup.lake[0].configuration[0].bytes_scanned_cutoff_per_query == 1073741824 &&
      aws_athena_workgroup.lake[0].configuration[0].result_configuration[0].output_location == "s3://econ-lake-${var.environment}-athena-results-123456789012/results/"
    )
    error_message = "The workgroup must enforce its configuration, cut queries off at 1 GB and write to its results bucket."
  }

  assert {
    condition = (
      aws_athena_workgroup.lake[0].configuration[0].result_configuration[0].encryption_configuration[0].encryption_option == "SSE_KMS" &&
      aws_athena_workgroup.lake[0].configuration[0].result_configuration[0].encryption_configuration[0].kms_key_arn == "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"
    )
    error_message = "Query results must be encrypted with the results key."
  }

  assert {
    condition = (
      module.athena_results_bucket[0].id == "econ-lake-${var.environment}-athena-results-123456789012" &&
      module.athena_results_bucket[0].versioning_status == "Enabled" &&
      module.athena_results_bucket[0].encryption.sse_algorithm == "aws:kms" &&
      module.athena_results_key[0].key_rotation_enabled
    )
    error_message = "The results bucket must be versioned and SSE-KMS encrypted with a rotated key."
  }

  assert {
    condition = (
      module.athena_results_bucket[0].public_access_blocked
    )
    error_message = "The results bucket must block all public access."
  }

  assert {
    condition = (
      jsondecode(module.athena_results_bucket[0].policy).Statement[0].Effect == "Deny" &&
      jsondecode(module.athena_results_bucket[0].policy).Statement[0].Condition.Bool["aws:SecureTransport"] == "false" &&
      length(jsondecode(module.athena_results_bucket[0].policy).Statement[0].Resource) == 2
    )
    error_message = "The results bucket must deny every non-TLS request."
  }

  assert {
    condition = (
      module.athena_results_bucket[0].lifecycle_rule.status == "Enabled" &&
      module.athena_results_bucket[0].lifecycle_rule.expiration[0].days == 7
    )
    error_message = "Query results must expire after athena_results_expiration_days (7)."
  }

  assert {
    condition     = output.athena_workgroup == "econ-lake-${var.environment}-lake" && output.athena_results_bucket == "econ-lake-${var.environment}-athena-results-123456789012"
    error_message = "athena_workgroup and athena_results_bucket must be exposed."
  }
}

run "alarms_notify_the_encrypted_topic" {
  command = plan

  assert {
    condition = (
      aws_sns_topic.alarms[0].name == "econ-lake-${var.environment}-alarms" &&
      aws_sns_topic.alarms[0].kms_master_key_id == "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000" &&
      module.alarm_topic_key[0].key_rotation_enabled
    )
    error_message = "The alarm topic must be encrypted with its own (rotated) KMS key."
  }

  assert {
    condition = toset(flatten([
      for st in jsondecode(module.alarm_topic_key[0].policy).Statement : try(st.Principal.Service, [])
    ])) == toset(["cloudwatch.amazonaws.com", "budgets.amazonaws.com"])
    error_message = "CloudWatch and Budgets must be able to use the topic's key."
  }

  assert {
    condition = toset([
      for st in jsondecode(aws_sns_topic_policy.alarms[0].policy).Statement : st.Principal.Service
      if try(st.Principal.Service, null) != null && st.Action == "sns:Publish"
    ]) == toset(["cloudwatch.amazonaws.com", "budgets.amazonaws.com"])
    error_message = "CloudWatch alarms and Budgets must be allowed to publish to the topic."
  }

  assert {
    condition     = length(aws_sns_topic_subscription.alarm_email) == 0
    error_message = "No email subscription without alarm_email."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.ingest_iterator_age[0].namespace == "AWS/Lambda" &&
      aws_cloudwatch_metric_alarm.ingest_iterator_age[0].metric_name == "IteratorAge" &&
      aws_cloudwatch_metric_alarm.ingest_iterator_age[0].statistic == "Maximum" &&
      aws_cloudwatch_metric_alarm.ingest_iterator_age[0].dimensions == tomap({ FunctionName = "econ-lake-${var.environment}-ingest" }) &&
      aws_cloudwatch_metric_alarm.ingest_iterator_age[0].threshold == 600000 &&
      aws_cloudwatch_metric_alarm.ingest_iterator_age[0].comparison_operator == "GreaterThanThreshold"
    )
    error_message = "The iterator-age alarm must watch ingest's maximum IteratorAge (600 s = 600000 ms by default)."
  }

  assert {
    condition = {
      for k, a in aws_cloudwatch_metric_alarm.count_above_zero : k => "${a.alarm_name}/${a.namespace}/${a.metric_name}/${a.statistic}/${a.dimensions["QueueName"]}/${a.comparison_operator}/${a.threshold}"
      if a.namespace == "AWS/SQS"
      } == {
      "ingest-dlq-not-empty"    = "econ-lake-${var.environment}-ingest-dlq-not-empty/AWS/SQS/ApproximateNumberOfMessagesVisible/Maximum/econ-lake-${var.environment}-ingest-dlq/GreaterThanThreshold/0"
      "transform-dlq-not-empty" = "econ-lake-${var.environment}-transform-dlq-not-empty/AWS/SQS/ApproximateNumberOfMessagesVisible/Maximum/econ-lake-${var.environment}-transform-dlq/GreaterThanThreshold/0"
      "live-dlq-not-empty"      = "econ-lake-${var.environment}-live-dlq-not-empty/AWS/SQS/ApproximateNumberOfMessagesVisible/Maximum/econ-lake-${var.environment}-live-dlq/GreaterThanThreshold/0"
    }
    error_message = "Each DLQ needs an alarm on ApproximateNumberOfMessagesVisible > 0."
  }

  assert {
    condition = {
      for k, a in aws_cloudwatch_metric_alarm.count_above_zero : k => "${a.alarm_name}/${a.namespace}/${a.metric_name}/${a.statistic}/${a.dimensions["FunctionName"]}/${a.comparison_operator}/${a.threshold}"
      if a.namespace == "AWS/Lambda"
      } == merge([
        for fn in ["ingest", "transform", "aggregate", "api", "live"] : {
          "${fn}-errors"    = "econ-lake-${var.environment}-${fn}-errors/AWS/Lambda/Errors/Sum/econ-lake-${var.environment}-${fn}/GreaterThanThreshold/0"
          "${fn}-throttles" = "econ-lake-${var.environment}-${fn}-throttles/AWS/Lambda/Throttles/Sum/econ-lake-${var.environment}-${fn}/GreaterThanThreshold/0"
        }
    ]...)
    error_message = "Every function needs an Errors and a Throttles alarm on its own FunctionName."
  }

  assert {
    condition = alltrue(concat(
      [for a in values(aws_cloudwatch_metric_alarm.count_above_zero) : endswith(a.alarm_description, "Messages are kept 14 days.") if a.namespace == "AWS/SQS"],
      [
        for k, a in aws_cloudwatch_metric_alarm.count_above_zero :
        startswith(a.alarm_description, "econ-lake-${var.environment}-${split("-", k)[0]} ${endswith(k, "-errors") ? "failed" : "was throttled"}")
        if a.namespace == "AWS/Lambda"
      ],
    ))
    error_message = "DLQ alarms must state the queues' 14-day retention; each Lambda alarm must describe its own function and metric."
  }

  assert {
    condition = contains([
      for st in jsondecode(module.alarm_topic_key[0].policy).Statement : try(st.Principal.AWS, null)
    ], "arn:aws:iam::123456789012:root")
    error_message = "The alarm topic's key must let the account (its root principal) administer it."
  }

  assert {
    condition = alltrue([
      for a in concat(aws_cloudwatch_metric_alarm.ingest_iterator_age, values(aws_cloudwatch_metric_alarm.count_above_zero)) :
      a.actions_enabled &&
      a.alarm_actions == toset(["arn:aws:sns:us-east-1:123456789012:mock-alarms"]) &&
      a.ok_actions == toset(["arn:aws:sns:us-east-1:123456789012:mock-alarms"]) &&
      a.treat_missing_data == "notBreaching"
    ])
    error_message = "Every alarm must notify the topic when it fires and when it clears, and treat missing data as not breaching."
  }

  assert {
    condition     = output.alarm_topic_arn == "arn:aws:sns:us-east-1:123456789012:mock-alarms"
    error_message = "alarm_topic_arn must expose the topic."
  }
}

run "alarm_email_subscribes_to_the_topic" {
  command = plan

  variables {
    alarm_email = "ops@example.com"
  }

  assert {
    condition = (
      aws_sns_topic_subscription.alarm_email[0].protocol == "email" &&
      aws_sns_topic_subscription.alarm_email[0].endpoint == "ops@example.com" &&
      aws_sns_topic_subscription.alarm_email[0].topic_arn == "arn:aws:sns:us-east-1:123456789012:mock-alarms"
    )
    error_message = "alarm_email must be subscribed to the alarm topic."
  }
}

run "monthly_budget_alerts_the_topic" {
  command = plan

  variables {
    monthly_budget_usd = 75
  }

  assert {
    condition = (
      aws_budgets_budget.monthly[0].name == "econ-lake-${var.environment}-monthly-cost" &&
      aws_budgets_budget.monthly[0].budget_type == "COST" &&
      aws_budgets_budget.monthly[0].time_unit == "MONTHLY" &&
      aws_budgets_budget.monthly[0].limit_amount == "75.00" &&
      aws_budgets_budget.monthly[0].limit_unit == "USD"
    )
    error_message = "The budget must be a monthly COST budget of monthly_budget_usd."
  }

  assert {
    condition = toset([
      for n in aws_budgets_budget.monthly[0].notification :
      "${n.notification_type}/${n.comparison_operator}/${n.threshold}/${n.threshold_type}"
      if n.subscriber_sns_topic_arns == toset(["arn:aws:sns:us-east-1:123456789012:mock-alarms"])
    ]) == toset(["ACTUAL/GREATER_THAN/100/PERCENTAGE", "FORECASTED/GREATER_THAN/100/PERCENTAGE"])
    error_message = "The budget must notify the topic when actual or forecasted cost exceeds it."
  }
}

run "serves_latest_from_the_stream_and_lands_the_lake_in_bulk" {
  command = plan

  assert {
    condition = (
      module.live_function.function_name == "econ-lake-${var.environment}-live" &&
      aws_lambda_event_source_mapping.stream["live"].function_name == module.live_function.function_arn &&
      aws_lambda_event_source_mapping.stream["live"].maximum_batching_window_in_seconds == 2 &&
      one(one(aws_lambda_event_source_mapping.stream["live"].destination_config).on_failure).destination_arn == aws_sqs_queue.live_dlq.arn
    )
    error_message = "Every AWS environment runs the live consumer (2 s window, failures to the live DLQ)."
  }

  assert {
    condition     = aws_sqs_queue.live_dlq.name == "econ-lake-${var.environment}-live-dlq" && aws_sqs_queue.live_dlq.sqs_managed_sse_enabled
    error_message = "The live DLQ must be named per environment and encrypted."
  }

  assert {
    condition = (
      aws_lambda_event_source_mapping.stream["ingest"].maximum_batching_window_in_seconds == 20 &&
      aws_cloudwatch_event_rule.aggregate.schedule_expression == "rate(1 minute)"
    )
    error_message = "The lake lands in 20 s windows and KPIs are computed every minute."
  }

  assert {
    condition = (
      aws_cloudwatch_event_rule.compaction.schedule_expression == "rate(1 minute)" &&
      jsondecode(aws_cloudwatch_event_target.compaction.input).compact == true &&
      module.aggregate_function.environment_variables["DEDUPE_HORIZON_SECONDS"] == "180" &&
      module.aggregate_function.environment_variables["SILVER_TARGET_FILE_MB"] == "128"
    )
    error_message = "Compaction runs on its own schedule with {compact: true}; the aggregate gets its horizon and target file size."
  }

  assert {
    condition     = contains(keys(aws_cloudwatch_metric_alarm.count_above_zero), "live-errors") && contains(keys(aws_cloudwatch_metric_alarm.count_above_zero), "live-dlq-not-empty")
    error_message = "live needs its error alarm and its DLQ alarm."
  }
}

run "trail_audits_management_events_into_its_own_bucket" {
  command = plan

  assert {
    condition = (
      aws_cloudtrail.lake[0].name == "econ-lake-${var.environment}-trail" &&
      module.audit_trail_bucket[0].id == "econ-lake-${var.environment}-cloudtrail-123456789012" &&
      aws_cloudtrail.lake[0].s3_bucket_name == module.audit_trail_bucket[0].id &&
      aws_cloudtrail.lake[0].kms_key_id == "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000" &&
      aws_cloudtrail.lake[0].enable_log_file_validation &&
      aws_cloudtrail.lake[0].is_multi_region_trail &&
      aws_cloudtrail.lake[0].include_global_service_events
    )
    error_message = "The trail must write KMS-encrypted, validated logs to its own bucket, from every region."
  }

  assert {
    condition = (
      aws_cloudtrail.lake[0].event_selector[0].include_management_events &&
      aws_cloudtrail.lake[0].event_selector[0].read_write_type == "All"
    )
    error_message = "The trail must record every management event (its S3 data events differ per environment: dev/prod files)."
  }

  assert {
    condition = (
      module.audit_trail_bucket[0].versioning_status == "Enabled" &&
      module.audit_trail_bucket[0].encryption.sse_algorithm == "aws:kms" &&
      module.audit_trail_bucket[0].encryption.kms_master_key_id == module.audit_key[0].arn &&
      module.audit_key[0].key_rotation_enabled &&
      module.audit_trail_bucket[0].public_access_blocked &&
      module.audit_trail_bucket[0].lifecycle_rule.expiration[0].days == local.settings.audit_log_retention_days
    )
    error_message = "The trail's bucket must be versioned, encrypted with the rotated audit key, private, and keep logs the environment's audit_log_retention_days (the days: dev/prod files)."
  }

  assert {
    condition = (
      [for st in jsondecode(module.audit_trail_bucket[0].policy).Statement : st.Sid] == ["DenyInsecureTransport", "CloudTrailChecksBucketAcl", "CloudTrailWritesLogFiles"] &&
      jsondecode(module.audit_trail_bucket[0].policy).Statement[0].Condition.Bool["aws:SecureTransport"] == "false" &&
      jsondecode(module.audit_trail_bucket[0].policy).Statement[2].Resource == "arn:aws:s3:::econ-lake-${var.environment}-cloudtrail-123456789012/AWSLogs/123456789012/*" &&
      jsondecode(module.audit_trail_bucket[0].policy).Statement[2].Condition.StringEquals["aws:SourceArn"] == "arn:aws:cloudtrail:us-east-1:123456789012:trail/econ-lake-${var.environment}-trail" &&
      jsondecode(module.audit_trail_bucket[0].policy).Statement[2].Condition.StringEquals["s3:x-amz-acl"] == "bucket-owner-full-control"
    )
    error_message = "The trail's bucket policy must be TLS-only and let only this trail check the ACL and write under AWSLogs/<account>/."
  }

  assert {
    condition = contains(flatten([
      for st in jsondecode(module.audit_key[0].policy).Statement : st.Action
      if contains(flatten([try(st.Principal.Service, [])]), "cloudtrail.amazonaws.com") && try(st.Condition.StringEquals["aws:SourceArn"], null) == "arn:aws:cloudtrail:us-east-1:123456789012:trail/econ-lake-${var.environment}-trail"
    ]), "kms:GenerateDataKey*")
    error_message = "Only this trail may encrypt with the audit key."
  }
}
