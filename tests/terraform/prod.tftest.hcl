# environment = "prod": real-AWS settings. Plan only, against a mocked provider
# (mocks/ gives aws_caller_identity the account id 123456789012).

mock_provider "aws" {
  override_during = plan
  source          = "./tests/terraform/mocks"
}

variables {
  environment     = "prod"
  lambda_zip_path = "tests/terraform/fixtures/lambda.zip"
}

run "buckets_carry_account_id_use_kms_and_require_tls" {
  command = plan

  assert {
    condition     = alltrue([for k, b in aws_s3_bucket.this : b.bucket == "econ-lake-prod-${k}-123456789012"])
    error_message = "Prod bucket names must be <project>-prod-<layer>-<account id>."
  }

  assert {
    condition     = alltrue([for b in aws_s3_bucket.this : !b.force_destroy])
    error_message = "Prod buckets must never be force_destroy."
  }

  assert {
    condition = alltrue([
      for c in aws_s3_bucket_server_side_encryption_configuration.this :
      one(c.rule).apply_server_side_encryption_by_default[0].sse_algorithm == "aws:kms" &&
      one(c.rule).apply_server_side_encryption_by_default[0].kms_master_key_id == null &&
      one(c.rule).bucket_key_enabled
    ])
    error_message = "Prod buckets must use SSE-KMS with the AWS-managed key and S3 Bucket Keys."
  }

  assert {
    condition     = alltrue([for v in aws_s3_bucket_versioning.this : v.versioning_configuration[0].status == "Enabled"])
    error_message = "Every bucket must have versioning Enabled."
  }

  assert {
    condition = alltrue([
      for p in aws_s3_bucket_public_access_block.this :
      p.block_public_acls && p.block_public_policy && p.ignore_public_acls && p.restrict_public_buckets
    ])
    error_message = "Every bucket must block all public access."
  }

  assert {
    condition     = toset(keys(aws_s3_bucket_policy.tls_only)) == toset(["bronze", "silver", "gold", "artifacts"])
    error_message = "Every bucket needs a TLS-only bucket policy."
  }

  assert {
    condition = alltrue([
      for p in aws_s3_bucket_policy.tls_only :
      strcontains(p.policy, "aws:SecureTransport") &&
      jsondecode(p.policy).Statement[0].Effect == "Deny" &&
      jsondecode(p.policy).Statement[0].Principal == "*" &&
      jsondecode(p.policy).Statement[0].Condition.Bool["aws:SecureTransport"] == "false" &&
      length(jsondecode(p.policy).Statement[0].Resource) == 2
    ])
    error_message = "The bucket policy must deny every non-TLS request on the bucket and its objects."
  }
}

run "stream_is_on_demand_and_encrypted" {
  command = plan

  assert {
    condition     = aws_kinesis_stream.events.stream_mode_details[0].stream_mode == "ON_DEMAND" && aws_kinesis_stream.events.shard_count == null
    error_message = "Prod stream must be ON_DEMAND without a shard count."
  }

  assert {
    condition     = aws_kinesis_stream.events.encryption_type == "KMS" && aws_kinesis_stream.events.kms_key_id == "alias/aws/kinesis"
    error_message = "Prod stream must be encrypted with the AWS-managed Kinesis key."
  }
}

run "table_has_pitr" {
  command = plan

  assert {
    condition     = aws_dynamodb_table.lake.point_in_time_recovery[0].enabled
    error_message = "PITR must be enabled in prod."
  }

  assert {
    condition     = aws_dynamodb_table.lake.name == "econ-lake-prod-lake"
    error_message = "Unexpected table name."
  }
}

run "api_url_requires_iam_by_default" {
  command = plan

  assert {
    condition     = aws_lambda_function_url.api.authorization_type == "AWS_IAM"
    error_message = "The prod Function URL must default to AWS_IAM."
  }

  assert {
    condition     = length(module.lambda["api"].permission_statement_ids) == 0
    error_message = "No public permission may exist for an AWS_IAM Function URL."
  }

  assert {
    condition = alltrue(flatten([
      for fn in module.lambda : [
        for st in jsondecode(fn.role_policy_json).Statement : [
          for action in flatten([st.Action]) : !strcontains(action, "*")
        ]
      ]
    ]))
    error_message = "No IAM action may contain \"*\"."
  }

  assert {
    condition     = length(distinct([for fn in module.lambda : fn.role_arn])) >= 1 && length(module.lambda) == 4
    error_message = "Expected four functions with roles."
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
    condition     = aws_sqs_queue.transform_dlq.name == "econ-lake-prod-transform-dlq" && aws_sqs_queue.transform_dlq.sqs_managed_sse_enabled
    error_message = "The prod transform DLQ must be econ-lake-prod-transform-dlq with SQS-managed SSE."
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
      for st in jsondecode(module.lambda["transform"].role_policy_json).Statement : st.Resource
      if contains(flatten([st.Action]), "sqs:SendMessage")
    ] == [["arn:aws:sqs:us-east-1:123456789012:mock-transform-dlq"]]
    error_message = "transform may send to the transform DLQ only."
  }
}

run "functions_log_to_their_groups" {
  command = plan

  # Module outputs are all the root can see: the log group names must follow /aws/lambda/<name>.
  assert {
    condition     = alltrue([for k, fn in module.lambda : fn.log_group_name == "/aws/lambda/econ-lake-prod-${k}"])
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
    condition     = module.lambda["api"].permission_statement_ids == ["AllowPublicFunctionUrl"]
    error_message = "A public URL needs the lambda:InvokeFunctionUrl permission for principal *."
  }
}
