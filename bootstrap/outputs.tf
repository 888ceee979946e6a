output "state_bucket" {
  description = "Name of the state bucket: `make deploy ENVIRONMENT=dev` reads it from here (or pass STATE_BUCKET=...)."
  value       = aws_s3_bucket.state.id
}

output "state_bucket_region" {
  description = "Region of the state bucket, the backend's `region`."
  value       = var.aws_region
}

output "state_bucket_arn" {
  description = "ARN of the state bucket, for IAM policies of whoever deploys (s3:ListBucket on it; s3:GetObject, s3:PutObject, s3:DeleteObject on its keys)."
  value       = aws_s3_bucket.state.arn
}
