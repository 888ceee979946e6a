output "function_name" {
  description = "Name of the Lambda function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the Lambda function (unqualified)."
  value       = aws_lambda_function.this.arn
}

output "invoke_arn" {
  description = "ARN to use as an API Gateway integration URI."
  value       = aws_lambda_function.this.invoke_arn
}

output "role_name" {
  description = "Name of the function's execution role."
  value       = aws_iam_role.this.name
}

output "role_arn" {
  description = "ARN of the function's execution role."
  value       = aws_iam_role.this.arn
}

output "role_policy_json" {
  description = "The execution role's inline policy document (JSON), for review and tests."
  value       = aws_iam_role_policy.this.policy
}

output "log_group_name" {
  description = "Name of the function's CloudWatch log group."
  value       = aws_cloudwatch_log_group.this.name
}

output "permission_statement_ids" {
  description = "Statement ids of the resource-policy permissions created from allowed_triggers; depend on this output to wait for them."
  value       = [for p in aws_lambda_permission.this : p.statement_id]
}

output "environment_variables" {
  description = "The function's environment variables, as planned (for review and tests)."
  value       = aws_lambda_function.this.environment[0].variables
}
