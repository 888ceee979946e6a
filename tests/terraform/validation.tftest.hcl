# Inputs that must be rejected at plan time.

mock_provider "aws" {
  override_during = plan
  source          = "./tests/terraform/mocks"
}

variables {
  lambda_zip_path = "tests/terraform/fixtures/lambda.zip"
}

run "rejects_unknown_environment" {
  command = plan

  variables {
    environment = "staging"
  }

  expect_failures = [var.environment]
}

run "rejects_local_off_the_emulator" {
  command = plan

  variables {
    environment = "local"
    emulator    = false
  }

  expect_failures = [var.emulator]
}

run "an_environment_on_the_emulator_keeps_its_names_and_settings" {
  command = plan

  variables {
    environment = "prod"
    emulator    = true
  }

  assert {
    condition = (
      alltrue([for k, b in module.lake_bucket : b.id == "econ-lake-prod-${k}"]) &&
      aws_dynamodb_table.lake.name == "econ-lake-prod-lake" &&
      aws_dynamodb_table.lake.deletion_protection_enabled &&
      local.settings.log_retention_days == 90
    )
    error_message = "prod on an emulator keeps prod's names (no account id: the emulator's is fake) and prod's settings."
  }

  assert {
    condition = (
      length(aws_glue_catalog_database.lake) == 0 && length(aws_cloudtrail.lake) == 0 && length(aws_budgets_budget.monthly) == 0 &&
      alltrue([for b in module.lake_bucket : b.policy == null && b.encryption.sse_algorithm == "AES256"]) &&
      output.state_backend == null
    )
    error_message = "On an emulator the AWS-only parts are left out, as for local (the state backend is the one make tf-init or the test writes)."
  }
}

run "rejects_unbounded_retries" {
  command = plan

  variables {
    ingest_maximum_retry_attempts = -1
  }

  expect_failures = [var.ingest_maximum_retry_attempts]
}

run "rejects_transform_event_age_out_of_range" {
  command = plan

  variables {
    transform_maximum_event_age_seconds = 30
  }

  expect_failures = [var.transform_maximum_event_age_seconds]
}

run "rejects_bad_schedule" {
  command = plan

  variables {
    aggregate_schedule_expression = "every 5 minutes"
  }

  expect_failures = [var.aggregate_schedule_expression]
}

run "rejects_missing_package" {
  command = plan

  variables {
    lambda_zip_path = "tests/terraform/fixtures/missing.zip"
  }

  expect_failures = [var.lambda_zip_path]
}

run "function_settings_override_defaults" {
  command = plan

  variables {
    lambda_function_settings = {
      api  = { memory_size = 512 }
      live = { timeout = 60 }
    }
  }

  assert {
    condition     = local.function_settings.api == { memory_size = 512, timeout = 10 }
    error_message = "An override must only replace the attribute it sets."
  }

  assert {
    condition     = local.function_settings.live == { memory_size = 256, timeout = 60 }
    error_message = "Every function of local.function_defaults, live included, can be overridden."
  }

  assert {
    condition     = local.function_settings.aggregate == { memory_size = 1024, timeout = 300 }
    error_message = "Functions without overrides must keep their defaults."
  }
}

run "rejects_unknown_function_settings_key" {
  command = plan

  variables {
    lambda_function_settings = {
      reporting = { timeout = 30 }
    }
  }

  expect_failures = [var.lambda_function_settings]
}

run "rejects_bad_alarm_email" {
  command = plan

  variables {
    alarm_email = "not-an-email"
  }

  expect_failures = [var.alarm_email]
}

run "rejects_non_positive_budget" {
  command = plan

  variables {
    monthly_budget_usd = 0
  }

  expect_failures = [var.monthly_budget_usd]
}

run "rejects_bad_projection_start_date" {
  command = plan

  variables {
    lake_projection_start_date = "2020-02-30"
  }

  expect_failures = [var.lake_projection_start_date]
}

run "rejects_athena_cutoff_below_minimum" {
  command = plan

  variables {
    athena_bytes_scanned_cutoff_mb = 5
  }

  expect_failures = [var.athena_bytes_scanned_cutoff_mb]
}

run "rejects_iterator_age_alarm_past_record_age" {
  command = plan

  variables {
    environment                = "prod"
    iterator_age_alarm_seconds = 3600
  }

  expect_failures = [aws_cloudwatch_metric_alarm.ingest_iterator_age]
}

run "rejects_bad_audit_log_retention" {
  command = plan

  variables {
    audit_log_retention_days = 0
  }

  expect_failures = [var.audit_log_retention_days]
}

run "rejects_a_dedupe_horizon_outside_one_minute_to_one_hour" {
  command = plan

  variables {
    aggregate_dedupe_horizon_seconds = 30
  }

  expect_failures = [var.aggregate_dedupe_horizon_seconds]
}

run "rejects_a_target_file_size_the_tmp_cannot_hold" {
  command = plan

  variables {
    silver_target_file_mb = 1024
  }

  expect_failures = [var.silver_target_file_mb]
}

run "rejects_a_malformed_compaction_schedule" {
  command = plan

  variables {
    compaction_schedule_expression = "every 5 minutes"
  }

  expect_failures = [var.compaction_schedule_expression]
}
