################################################################################
# Execution role: assumed by Lambda only; inline policy = caller's statements +
# writing to this function's own log group. No action wildcards.
################################################################################

data "aws_iam_policy_document" "assume_role" {
  statement {
    sid     = "LambdaAssumeRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = var.name
  description        = "Execution role of the ${var.name} Lambda function."
  assume_role_policy = data.aws_iam_policy_document.assume_role.json
  tags               = var.tags
}

locals {
  # Built with jsonencode (not a data source) so the document is known at plan time and
  # `terraform test` can inspect it even with a mocked provider.
  policy_document = {
    Version = "2012-10-17"
    Statement = concat(
      [
        {
          Sid    = "WriteOwnLogs"
          Effect = "Allow"
          Action = ["logs:CreateLogStream", "logs:PutLogEvents"]
          # ":*" covers the group's log streams; it is a resource pattern, not an action wildcard.
          Resource = ["${aws_cloudwatch_log_group.this.arn}:*"]
        }
      ],
      [
        for s in var.policy_statements : {
          Sid      = s.sid
          Effect   = "Allow"
          Action   = s.actions
          Resource = s.resources
        }
      ]
    )
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "${var.name}-least-privilege"
  role   = aws_iam_role.this.id
  policy = jsonencode(local.policy_document)
}

################################################################################
# Logs
################################################################################

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_158:Logs hold no secrets and CloudWatch Logs encrypts them at rest by default; a KMS key would add cost and a key policy per log group.
  #checkov:skip=CKV_AWS_338:Retention is var.log_retention_days (14 by default): operational logs, not an audit trail; raise it where a policy asks for a year.
  name              = "/aws/lambda/${var.name}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

################################################################################
# Function
################################################################################

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_50:No X-Ray: tracing costs per trace and needs xray:Put* on every role; the functions log structured JSON (Powertools) instead.
  #checkov:skip=CKV_AWS_115:No reserved concurrency: it is carved out of the account's pool and fails on new accounts (10 unreserved minimum); the stream's shard count bounds ingest already.
  #checkov:skip=CKV_AWS_116:Failures go to on-failure destinations, not dead_letter_config: the ingest mapping and transform's event invoke config send to SQS (see main.tf); aggregate and api are invoked synchronously.
  #checkov:skip=CKV_AWS_117:No VPC: the functions reach only regional AWS APIs (S3, DynamoDB, SQS, Kinesis); a VPC would need NAT or endpoints and add cold-start time.
  #checkov:skip=CKV_AWS_173:The environment holds resource names and a log level only, no secrets; Lambda encrypts it at rest with the AWS managed key.
  #checkov:skip=CKV_AWS_272:No code signing: the zip is built reproducibly from this repository (tools/package_lambda.py) and its hash is pinned by source_code_hash.
  function_name = var.name
  description   = var.description
  role          = aws_iam_role.this.arn
  handler       = var.handler
  runtime       = var.runtime
  timeout       = var.timeout
  memory_size   = var.memory_size

  s3_bucket         = var.s3_bucket
  s3_key            = var.s3_key
  s3_object_version = var.s3_object_version
  source_code_hash  = var.source_code_hash

  environment {
    variables = var.environment_variables
  }

  dynamic "logging_config" {
    for_each = var.explicit_logging_config ? [aws_cloudwatch_log_group.this.name] : []

    content {
      log_format = "Text"
      log_group  = logging_config.value
    }
  }

  tags = var.tags

  # The group must exist first (or Lambda creates an unmanaged one without retention), and the
  # role must already grant its permissions when the first invocation arrives.
  depends_on = [
    aws_cloudwatch_log_group.this,
    aws_iam_role_policy.this,
  ]
}

################################################################################
# Who may invoke it (resource-based policy)
################################################################################

resource "aws_lambda_permission" "this" {
  for_each = var.allowed_triggers

  statement_id           = each.key
  function_name          = aws_lambda_function.this.function_name
  action                 = each.value.function_url_auth_type == null ? "lambda:InvokeFunction" : "lambda:InvokeFunctionUrl"
  principal              = each.value.principal
  source_arn             = each.value.source_arn
  function_url_auth_type = each.value.function_url_auth_type
}
