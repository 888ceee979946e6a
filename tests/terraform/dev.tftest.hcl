# environment = "dev": real AWS, side by side with prod in one account, cheap and easy to tear
# down. What only dev has: its names and the settings of local.environment_defaults["dev"]; what
# every AWS environment has is in aws.tftest.hcl. Plan only, against a mocked provider (mocks/
# gives the account id 123456789012).

mock_provider "aws" {
  override_during = plan
  source          = "./tests/terraform/mocks"
}

variables {
  environment     = "dev"
  lambda_zip_path = "tests/terraform/fixtures/lambda.zip"
}

run "names_are_per_environment" {
  command = plan

  assert {
    condition     = alltrue([for k, b in module.lake_bucket : b.id == "econ-lake-dev-${k}-123456789012"])
    error_message = "dev bucket names must be <project>-dev-<layer>-<account id>, apart from prod's."
  }

  assert {
    condition = (
      aws_dynamodb_table.lake.name == "econ-lake-dev-lake" &&
      aws_kinesis_stream.events.name == "econ-lake-dev-events" &&
      aws_sqs_queue.ingest_dlq.name == "econ-lake-dev-ingest-dlq" &&
      aws_sqs_queue.transform_dlq.name == "econ-lake-dev-transform-dlq" &&
      aws_sqs_queue.live_dlq.name == "econ-lake-dev-live-dlq" &&
      aws_glue_catalog_database.lake[0].name == "econ_lake_dev" &&
      aws_athena_workgroup.lake[0].name == "econ-lake-dev-lake" &&
      module.athena_results_bucket[0].id == "econ-lake-dev-athena-results-123456789012" &&
      alltrue([for k, fn in local.lambda_functions : fn.function_name == "econ-lake-dev-${k}"])
    )
    error_message = "Every dev name must carry the dev prefix."
  }

  assert {
    condition = (
      aws_sns_topic.alarms[0].name == "econ-lake-dev-alarms" &&
      aws_budgets_budget.monthly[0].name == "econ-lake-dev-monthly-cost" &&
      aws_cloudwatch_metric_alarm.ingest_iterator_age[0].alarm_name == "econ-lake-dev-ingest-iterator-age" &&
      alltrue([for a in aws_cloudwatch_metric_alarm.count_above_zero : startswith(a.alarm_name, "econ-lake-dev-")])
    )
    error_message = "dev gets its own alarms, topic and budget (everything AWS-only applies to dev too)."
  }
}

run "dev_is_cheap_and_easy_to_tear_down" {
  command = plan

  assert {
    condition     = alltrue([for b in module.lake_bucket : b.force_destroy]) && module.audit_trail_bucket[0].force_destroy
    error_message = "dev buckets must be force_destroy so `make destroy ENVIRONMENT=dev` removes everything."
  }

  assert {
    condition     = !aws_dynamodb_table.lake.deletion_protection_enabled
    error_message = "The dev table must not have deletion protection."
  }

  assert {
    condition     = aws_budgets_budget.monthly[0].limit_amount == "20.00"
    error_message = "dev's budget defaults to 20 USD."
  }

  assert {
    condition     = local.settings.log_retention_days == 7
    error_message = "dev keeps its functions' logs 7 days."
  }
}

run "dev_trail_records_management_events_only" {
  command = plan

  assert {
    condition = (
      aws_cloudtrail.lake[0].name == "econ-lake-dev-trail" &&
      module.audit_trail_bucket[0].id == "econ-lake-dev-cloudtrail-123456789012" &&
      length(aws_cloudtrail.lake[0].event_selector[0].data_resource) == 0
    )
    error_message = "dev has its own trail and bucket, recording management events (aws.tftest.hcl) without S3 data events."
  }

  assert {
    condition     = module.audit_trail_bucket[0].lifecycle_rule.expiration[0].days == 30
    error_message = "dev keeps its audit logs 30 days."
  }
}

run "each_difference_can_be_overridden" {
  command = plan

  variables {
    bucket_force_destroy      = false
    deletion_protection       = true
    log_retention_days        = 30
    monthly_budget_usd        = 35
    cloudtrail_s3_data_events = true
    audit_log_retention_days  = 90
  }

  assert {
    condition = (
      alltrue([for b in module.lake_bucket : !b.force_destroy]) &&
      aws_dynamodb_table.lake.deletion_protection_enabled &&
      aws_budgets_budget.monthly[0].limit_amount == "35.00" &&
      length(aws_cloudtrail.lake[0].event_selector[0].data_resource) == 1 &&
      module.audit_trail_bucket[0].lifecycle_rule.expiration[0].days == 90
    )
    error_message = "A variable that is set must replace the environment's default."
  }
}

# The backend settings tools/state_backend.py writes for dev (`make tf-init ENVIRONMENT=dev`) come
# from the same definition as this output (bootstrap/state_backend.json).
run "dev_state_has_its_own_key_and_lock" {
  command = plan

  assert {
    condition = output.state_backend == {
      bucket       = "econ-lake-tfstate-123456789012"
      key          = "econ-lake/dev/terraform.tfstate"
      encrypt      = true
      use_lockfile = true
    }
    error_message = "dev's state must be econ-lake/dev/terraform.tfstate in bootstrap's bucket, encrypted, with S3 native locking."
  }
}
