################################################################################
# Alarms and cost guard (AWS environments: dev and prod): CloudWatch alarms and a monthly AWS Budget, all notifying
# one KMS-encrypted SNS topic (plus an optional email). The emulators have no Budgets and do not
# evaluate alarms.
################################################################################

locals {
  alarm_topic_arn = one(aws_sns_topic.alarms[*].arn)

  # Alarms on a count that must stay at 0 for 5 minutes, all alike but for the metric and text:
  # the depth of each DLQ (a message there is work `make redrive` has to finish), and Errors and
  # Throttles of every function of local.lambda_functions.
  dlq_alarms = {
    for name, queue in { ingest = aws_sqs_queue.ingest_dlq.name, transform = aws_sqs_queue.transform_dlq.name, live = aws_sqs_queue.live_dlq.name } :
    "${name}-dlq-not-empty" => {
      alarm_name  = "${local.prefix}-${name}-dlq-not-empty"
      description = "The ${name} DLQ (${queue}) holds messages: ${name} failed after its retries. Read the function's log, fix the cause, then run `make redrive`. Messages are kept ${local.dlq_retention_seconds / 86400} days."
      namespace   = "AWS/SQS"
      metric      = "ApproximateNumberOfMessagesVisible"
      statistic   = "Maximum"
      dimensions  = { QueueName = queue }
    }
  }
  lambda_alarms = {
    for pair in setproduct(keys(local.lambda_functions), ["Errors", "Throttles"]) :
    "${pair[0]}-${lower(pair[1])}" => {
      alarm_name = "${local.lambda_functions[pair[0]].function_name}-${lower(pair[1])}"
      description = {
        Errors    = "${local.lambda_functions[pair[0]].function_name} failed at least once in 5 minutes (${local.lambda_functions[pair[0]].log_group_name}). Failed work is retried, then parked in a DLQ or left to the next schedule."
        Throttles = "${local.lambda_functions[pair[0]].function_name} was throttled in the last 5 minutes (account or reserved concurrency reached); its work is delayed."
      }[pair[1]]
      namespace  = "AWS/Lambda"
      metric     = pair[1]
      statistic  = "Sum"
      dimensions = { FunctionName = local.lambda_functions[pair[0]].function_name }
    }
  }
  count_above_zero_alarms = local.is_local ? {} : merge(local.dlq_alarms, local.lambda_alarms)
}

################################################################################
# Topic: KMS-encrypted with its own key (CloudWatch and Budgets cannot use the AWS-managed
# aws/sns key), publishable by this account's alarms and budgets only
################################################################################

module "alarm_topic_key" {
  source = "./modules/kms_key"
  count  = local.aws_count

  description       = "${local.prefix}: encrypts the alarm topic; CloudWatch alarms and AWS Budgets use it to publish."
  administrator_arn = local.account_root_arn
  policy_statements = [
    {
      # Publishing to an encrypted topic needs a data key of the topic's key.
      sid        = "AllowAlarmAndBudgetPublishers"
      principals = { type = "Service", identifiers = ["cloudwatch.amazonaws.com", "budgets.amazonaws.com"] }
      actions    = ["kms:Decrypt", "kms:GenerateDataKey"]
    },
  ]
}

resource "aws_sns_topic" "alarms" {
  count = local.aws_count

  name              = "${local.prefix}-alarms"
  display_name      = "${local.prefix} alarms"
  kms_master_key_id = module.alarm_topic_key[0].arn
}

resource "aws_sns_topic_policy" "alarms" {
  count = local.aws_count

  arn = aws_sns_topic.alarms[0].arn
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        # What the default topic policy grants the owner account (a policy set here replaces it).
        Sid       = "OwnerAccountManagesTopic"
        Effect    = "Allow"
        Principal = { AWS = local.account_root_arn }
        Action = [
          "sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:AddPermission", "sns:RemovePermission",
          "sns:DeleteTopic", "sns:Subscribe", "sns:ListSubscriptionsByTopic", "sns:Publish",
        ]
        Resource = aws_sns_topic.alarms[0].arn
      },
      {
        Sid       = "CloudWatchAlarmsOfThisAccountPublish"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = "sns:Publish"
        Resource  = aws_sns_topic.alarms[0].arn
        Condition = {
          StringEquals = { "aws:SourceAccount" = local.account_id }
          ArnLike      = { "aws:SourceArn" = "arn:${local.partition}:cloudwatch:${var.aws_region}:${local.account_id}:alarm:*" }
        }
      },
      {
        Sid       = "BudgetsOfThisAccountPublish"
        Effect    = "Allow"
        Principal = { Service = "budgets.amazonaws.com" }
        Action    = "sns:Publish"
        Resource  = aws_sns_topic.alarms[0].arn
        Condition = {
          StringEquals = { "aws:SourceAccount" = local.account_id }
          ArnLike      = { "aws:SourceArn" = "arn:${local.partition}:budgets::${local.account_id}:*" }
        }
      },
    ]
  })
}

resource "aws_sns_topic_subscription" "alarm_email" {
  count = var.alarm_email != null ? local.aws_count : 0

  # AWS mails a confirmation link first: nothing is delivered until it is clicked.
  topic_arn = aws_sns_topic.alarms[0].arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

################################################################################
# CloudWatch alarms (each notifies the topic when it fires and when it clears)
################################################################################

resource "aws_cloudwatch_metric_alarm" "ingest_iterator_age" {
  count = local.aws_count

  alarm_name        = "${local.prefix}-ingest-iterator-age"
  alarm_description = "ingest is falling behind the stream: its oldest record was older than ${var.iterator_age_alarm_seconds} s for 5 minutes. Past ${var.ingest_maximum_record_age_seconds} s records go to the ingest DLQ unprocessed; past the stream retention they are lost."

  namespace   = "AWS/Lambda"
  metric_name = "IteratorAge"
  dimensions  = { FunctionName = module.ingest_function.function_name }
  statistic   = "Maximum"
  period      = 60

  evaluation_periods  = 5
  datapoints_to_alarm = 5
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.iterator_age_alarm_seconds * 1000 # the metric is in milliseconds
  # No datapoint: no records were read in that minute, so nothing is waiting.
  treat_missing_data = "notBreaching"

  actions_enabled = true
  alarm_actions   = [local.alarm_topic_arn]
  ok_actions      = [local.alarm_topic_arn]

  lifecycle {
    precondition {
      condition     = var.iterator_age_alarm_seconds < var.ingest_maximum_record_age_seconds
      error_message = "iterator_age_alarm_seconds must be less than ingest_maximum_record_age_seconds, or the alarm fires only after records were already sent to the DLQ."
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "count_above_zero" {
  for_each = local.count_above_zero_alarms

  alarm_name        = each.value.alarm_name
  alarm_description = each.value.description

  namespace   = each.value.namespace
  metric_name = each.value.metric
  dimensions  = each.value.dimensions
  statistic   = each.value.statistic
  period      = 300

  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  # No datapoint means nothing to count: SQS reports a queue's depth only while it holds
  # messages, Lambda reports nothing for a period without invocations.
  treat_missing_data = "notBreaching"

  actions_enabled = true
  alarm_actions   = [local.alarm_topic_arn]
  ok_actions      = [local.alarm_topic_arn]
}

# The DLQ and function alarms were two resources before they became one (keys of the function
# alarms unchanged): existing alarms move, none is replaced.
moved {
  from = aws_cloudwatch_metric_alarm.lambda
  to   = aws_cloudwatch_metric_alarm.count_above_zero
}

moved {
  from = aws_cloudwatch_metric_alarm.dlq_not_empty["ingest"]
  to   = aws_cloudwatch_metric_alarm.count_above_zero["ingest-dlq-not-empty"]
}

moved {
  from = aws_cloudwatch_metric_alarm.dlq_not_empty["transform"]
  to   = aws_cloudwatch_metric_alarm.count_above_zero["transform-dlq-not-empty"]
}

moved {
  from = aws_cloudwatch_metric_alarm.dlq_not_empty["live"]
  to   = aws_cloudwatch_metric_alarm.count_above_zero["live-dlq-not-empty"]
}

################################################################################
# Monthly cost budget (account-wide: Budgets are global, costs of every service count)
################################################################################

resource "aws_budgets_budget" "monthly" {
  count = local.aws_count

  name         = "${local.prefix}-monthly-cost"
  budget_type  = "COST"
  time_unit    = "MONTHLY"
  limit_amount = format("%.2f", local.settings.monthly_budget_usd)
  limit_unit   = "USD"

  # Actual spend past the budget, and a forecast that says it will be. Through the topic only, so
  # alarm_email (subscribed to it) gets each alert once.
  dynamic "notification" {
    for_each = ["ACTUAL", "FORECASTED"]

    content {
      notification_type         = notification.value
      comparison_operator       = "GREATER_THAN"
      threshold                 = 100
      threshold_type            = "PERCENTAGE"
      subscriber_sns_topic_arns = [local.alarm_topic_arn]
    }
  }

  # Budgets checks that it may publish to the topic when the budget is saved.
  depends_on = [aws_sns_topic_policy.alarms, module.alarm_topic_key]
}
