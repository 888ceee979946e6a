# Read from the planned resource (not echoed from the variables), so that callers' tests assert
# what will be applied.

output "arn" {
  description = "ARN of the key: what buckets, topics, trails and workgroups name as their KMS key."
  value       = aws_kms_key.this.arn
}

output "key_id" {
  description = "Id of the key."
  value       = aws_kms_key.this.key_id
}

output "policy" {
  description = "The key policy, as JSON."
  value       = aws_kms_key.this.policy
}

output "key_rotation_enabled" {
  description = "Whether KMS rotates the key material every year (always true)."
  value       = aws_kms_key.this.enable_key_rotation
}
