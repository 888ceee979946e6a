################################################################################
# One private S3 bucket with the settings every bucket of the project shares: versioning, default
# encryption, all public access blocked, a TLS-only bucket policy, and optionally ownership
# controls and one lifecycle rule. What differs between buckets is a variable.
################################################################################

locals {
  # With create_bucket = false the caller passes its bucket's id, which carries the dependency.
  bucket_id  = var.create_bucket ? aws_s3_bucket.this[0].bucket : var.bucket_name
  bucket_arn = var.create_bucket ? aws_s3_bucket.this[0].arn : "arn:${one(data.aws_partition.current[*].partition)}:s3:::${var.bucket_name}"

  # Standard guard: a Deny, so the s3:* wildcard widens the protection.
  deny_insecure_transport = {
    Sid       = "DenyInsecureTransport"
    Effect    = "Deny"
    Principal = "*"
    Action    = "s3:*"
    Resource  = [local.bucket_arn, "${local.bucket_arn}/*"]
    Condition = {
      Bool = { "aws:SecureTransport" = "false" }
    }
  }
}

# Only for a bucket the caller creates: its ARN is built from the name.
data "aws_partition" "current" {
  count = var.create_bucket ? 0 : 1
}

resource "aws_s3_bucket" "this" {
  count = var.create_bucket ? 1 : 0

  # checkov (make lint): decisions shared by every bucket of this reference stack.
  #checkov:skip=CKV_AWS_18:No server access logging: it needs a log bucket per region and costs per request; CloudTrail (audit.tf; S3 data events on in prod) is the audit path.
  #checkov:skip=CKV_AWS_144:No cross-region replication: one-region reference stack; versioning keeps history, and each caller's data can be rebuilt (bronze replays, silver/gold are derived, query results and states are small), so a replica only doubles cost.
  #checkov:skip=CKV2_AWS_62:Event notifications are the caller's (main.tf: bronze triggers transform); the other buckets have no consumers of object events.
  #checkov:skip=CKV_AWS_145:The callers choose the encryption: aws:kms on AWS (aws/s3 or their own key); AES256 only for the emulators, which have no KMS.
  # With create_bucket = false (bootstrap/) this resource has count 0 and checkov cannot link the settings below to it.
  #checkov:skip=CKV2_AWS_6:False positive: aws_s3_bucket_public_access_block.this blocks public access on every bucket of this module; callers' tests assert it.
  #checkov:skip=CKV_AWS_21:False positive: aws_s3_bucket_versioning.this enables versioning on every bucket of this module; callers' tests assert it.
  #checkov:skip=CKV2_AWS_61:False positive: every caller passes a lifecycle_rule (expiry of replaced versions at least); callers' tests assert it.
  bucket        = var.bucket_name
  force_destroy = var.force_destroy

  tags = var.tags
}

resource "aws_s3_bucket_ownership_controls" "this" {
  count = var.object_ownership == null ? 0 : 1

  bucket = local.bucket_id

  rule {
    object_ownership = var.object_ownership
  }
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = local.bucket_id

  versioning_configuration {
    status = "Enabled" # a bad write or delete is undone by restoring the previous version
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = local.bucket_id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.encryption.sse_algorithm
      kms_master_key_id = var.encryption.kms_key_arn
    }
    bucket_key_enabled = var.encryption.sse_algorithm == "aws:kms" ? true : null
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket                  = local.bucket_id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_policy" "this" {
  count = var.enforce_tls || length(var.policy_statements) > 0 ? 1 : 0

  bucket = local.bucket_id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = concat(var.enforce_tls ? [local.deny_insecure_transport] : [], var.policy_statements)
  })

  # PutBucketPolicy fails while the public access block is still being created.
  depends_on = [aws_s3_bucket_public_access_block.this]
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  count = var.lifecycle_rule == null ? 0 : 1

  bucket = local.bucket_id

  rule {
    id     = var.lifecycle_rule.id
    status = "Enabled"

    filter {}

    dynamic "transition" {
      for_each = var.lifecycle_rule.transition_days == null ? [] : [var.lifecycle_rule.transition_days]

      content {
        days          = transition.value
        storage_class = var.lifecycle_rule.transition_storage_class
      }
    }

    dynamic "expiration" {
      for_each = var.lifecycle_rule.expiration_days != null || var.lifecycle_rule.expired_object_delete_marker ? [var.lifecycle_rule] : []

      content {
        days                         = expiration.value.expiration_days
        expired_object_delete_marker = expiration.value.expired_object_delete_marker ? true : null
      }
    }

    noncurrent_version_expiration {
      noncurrent_days           = var.lifecycle_rule.noncurrent_days
      newer_noncurrent_versions = var.lifecycle_rule.newer_noncurrent_versions
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  # Lifecycle rules on a versioned bucket need versioning configured first.
  depends_on = [aws_s3_bucket_versioning.this]
}
