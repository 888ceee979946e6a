# environment = "prod": what only prod has, its names and the settings of
# local.environment_defaults["prod"]. What every AWS environment has is in aws.tftest.hcl.
# Plan only, against a mocked provider (mocks/ gives aws_caller_identity the account id 123456789012).

mock_provider "aws" {
  override_during = plan
  source          = "./tests/terraform/mocks"
}

variables {
  environment     = "prod"
  lambda_zip_path = "tests/terraform/fixtures/lambda.zip"
}

run "names_are_per_environment" {
  command = plan

  assert {
    condition     = alltrue([for k, b in module.lake_bucket : b.id == "econ-lake-prod-${k}-123456789012"])
    error_message = "Prod bucket names must be <project>-prod-<layer>-<account id>."
  }

  assert {
    condition = (
      aws_dynamodb_table.lake.name == "econ-lake-prod-lake" &&
      aws_kinesis_stream.events.name == "econ-lake-prod-events" &&
      aws_sqs_queue.ingest_dlq.name == "econ-lake-prod-ingest-dlq" &&
      aws_sqs_queue.transform_dlq.name == "econ-lake-prod-transform-dlq" &&
      aws_sqs_queue.live_dlq.name == "econ-lake-prod-live-dlq" &&
      aws_glue_catalog_database.lake[0].name == "econ_lake_prod" &&
      aws_athena_workgroup.lake[0].name == "econ-lake-prod-lake" &&
      module.athena_results_bucket[0].id == "econ-lake-prod-athena-results-123456789012" &&
      alltrue([for k, fn in local.lambda_functions : fn.function_name == "econ-lake-prod-${k}"])
    )
    error_message = "Every prod name must carry the prod prefix."
  }

  assert {
    condition = (
      aws_sns_topic.alarms[0].name == "econ-lake-prod-alarms" &&
      aws_budgets_budget.monthly[0].name == "econ-lake-prod-monthly-cost" &&
      aws_cloudwatch_metric_alarm.ingest_iterator_age[0].alarm_name == "econ-lake-prod-ingest-iterator-age" &&
      alltrue([for a in aws_cloudwatch_metric_alarm.count_above_zero : startswith(a.alarm_name, "econ-lake-prod-")])
    )
    error_message = "prod has its own alarms, topic and budget."
  }

  assert {
    condition = (
      aws_cloudtrail.lake[0].name == "econ-lake-prod-trail" &&
      module.audit_trail_bucket[0].id == "econ-lake-prod-cloudtrail-123456789012"
    )
    error_message = "prod has its own trail, writing to its own bucket."
  }
}

run "prod_is_protected_against_deletion" {
  command = plan

  assert {
    condition     = aws_dynamodb_table.lake.deletion_protection_enabled
    error_message = "The prod table must have deletion protection."
  }

  assert {
    condition     = alltrue([for b in module.lake_bucket : !b.force_destroy]) && !module.audit_trail_bucket[0].force_destroy
    error_message = "No prod bucket (lake or audit) may be force_destroy."
  }

  assert {
    condition     = alltrue([for k, fn in local.lambda_functions : fn.log_group_name == "/aws/lambda/econ-lake-prod-${k}"]) && aws_budgets_budget.monthly[0].limit_amount == "50.00"
    error_message = "prod's budget defaults to 50 USD."
  }

  assert {
    condition     = local.settings.log_retention_days == 90
    error_message = "prod keeps its functions' logs 90 days."
  }
}

run "prod_trail_audits_lake_data_events" {
  command = plan

  assert {
    condition = (
      aws_cloudtrail.lake[0].event_selector[0].data_resource[0].type == "AWS::S3::Object" &&
      toset(aws_cloudtrail.lake[0].event_selector[0].data_resource[0].values) == toset([
        for layer in ["bronze", "silver", "gold", "artifacts"] : "arn:aws:s3:::econ-lake-prod-${layer}-123456789012/"
      ])
    )
    error_message = "prod's trail must record the S3 data events of every lake bucket."
  }

  assert {
    condition     = module.audit_trail_bucket[0].lifecycle_rule.expiration[0].days == 365
    error_message = "prod keeps its audit logs 365 days."
  }
}

# The backend settings tools/state_backend.py writes for prod (`make tf-init ENVIRONMENT=prod`) come
# from the same definition as this output (bootstrap/state_backend.json).
run "prod_state_has_its_own_key_and_lock" {
  command = plan

  assert {
    condition = output.state_backend == {
      bucket       = "econ-lake-tfstate-123456789012"
      key          = "econ-lake/prod/terraform.tfstate"
      encrypt      = true
      use_lockfile = true
    }
    error_message = "prod's state must be econ-lake/prod/terraform.tfstate in bootstrap's bucket, encrypted, with S3 native locking."
  }
}
