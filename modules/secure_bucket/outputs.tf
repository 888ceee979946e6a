# Read from the planned resources (not echoed from the variables), so that callers' tests assert
# what will be applied.

output "id" {
  description = "Name (id) of the bucket."
  value       = local.bucket_id
}

output "arn" {
  description = "ARN of the bucket."
  value       = local.bucket_arn
}

output "force_destroy" {
  description = "Whether a destroy deletes the bucket with its objects (null when the caller creates the bucket)."
  value       = one(aws_s3_bucket.this[*].force_destroy)
}

output "versioning_status" {
  description = "Versioning status of the bucket (\"Enabled\")."
  value       = aws_s3_bucket_versioning.this.versioning_configuration[0].status
}

output "encryption" {
  description = "Default encryption of the bucket: sse_algorithm, kms_master_key_id (null: the AWS-managed key) and bucket_key_enabled."
  value = {
    sse_algorithm      = one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default[0].sse_algorithm
    kms_master_key_id  = one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default[0].kms_master_key_id
    bucket_key_enabled = one(aws_s3_bucket_server_side_encryption_configuration.this.rule).bucket_key_enabled
  }
}

output "public_access_blocked" {
  description = "Whether all four public access block settings are on."
  value = alltrue([
    aws_s3_bucket_public_access_block.this.block_public_acls,
    aws_s3_bucket_public_access_block.this.block_public_policy,
    aws_s3_bucket_public_access_block.this.ignore_public_acls,
    aws_s3_bucket_public_access_block.this.restrict_public_buckets,
  ])
}

output "object_ownership" {
  description = "Object ownership of the bucket, or null when this module does not manage it."
  value       = one(aws_s3_bucket_ownership_controls.this[*].rule[0].object_ownership)
}

output "policy" {
  description = "The bucket policy (JSON), or null when the bucket has none."
  value       = one(aws_s3_bucket_policy.this[*].policy)
}

output "lifecycle_rule" {
  description = "The lifecycle rule as planned (aws_s3_bucket_lifecycle_configuration's rule block), or null when there is none."
  value       = one(aws_s3_bucket_lifecycle_configuration.this[*].rule[0])
}
