# modules/lambda_function's input checks, the one place they live (the root passes its settings
# through). Plan only, against a mocked provider. Run from modules/lambda_function/: terraform test
# (make test-terraform does).

mock_provider "aws" {
  override_during = plan

  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"sts:AssumeRole\",\"Principal\":{\"Service\":\"lambda.amazonaws.com\"}}]}"
    }
  }

  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::123456789012:role/example"
    }
  }

  mock_resource "aws_cloudwatch_log_group" {
    defaults = {
      arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/example"
    }
  }
}

variables {
  name             = "example"
  handler          = "pipeline.handlers.api.handler"
  s3_bucket        = "example-artifacts"
  s3_key           = "lambda/lambda.zip"
  source_code_hash = "0000000000000000000000000000000000000000000="
}

run "accepts_the_defaults" {
  command = plan

  assert {
    condition     = output.function_name == "example"
    error_message = "The module must plan with its defaults."
  }
}

run "the_planned_environment_is_an_output" {
  command = plan

  variables {
    environment_variables = { TABLE_NAME = "example-table" }
  }

  assert {
    condition     = output.environment_variables["TABLE_NAME"] == "example-table" && length(output.environment_variables) == 1
    error_message = "environment_variables must be the function's planned environment."
  }
}

run "rejects_bad_log_retention" {
  command = plan

  variables {
    log_retention_days = 10
  }

  expect_failures = [var.log_retention_days]
}

run "rejects_memory_out_of_range" {
  command = plan

  variables {
    memory_size = 64
  }

  expect_failures = [var.memory_size]
}

run "rejects_timeout_out_of_range" {
  command = plan

  variables {
    timeout = 901
  }

  expect_failures = [var.timeout]
}
