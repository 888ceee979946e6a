################################################################################
# The Terraform state bucket, applied once per account (README, "To an AWS account"). Every
# environment of the stack keeps its state here under <project>/<environment>/terraform.tfstate
# and locks it with a <key>.tflock object (Terraform's S3 native locking: no DynamoDB table).
#
# Encryption: SSE-KMS with the AWS-managed aws/s3 key and S3 Bucket Keys. A state file can hold
# secrets (outputs, policies), so it is encrypted with KMS, each use of the key is in CloudTrail,
# and bucket keys keep the KMS requests (and their cost) near zero. A customer managed key would
# add $1 a month and a key policy to run; it matters only when another account must read the state.
################################################################################

data "aws_caller_identity" "current" {}

locals {
  state_bucket_name = coalesce(var.state_bucket_name, "${var.project}-tfstate-${data.aws_caller_identity.current.account_id}")
}

resource "aws_s3_bucket" "state" {
  #checkov:skip=CKV_AWS_18:No server access logging: it needs another bucket; the account's CloudTrail (the stack's trail records management events) shows who changed the bucket.
  #checkov:skip=CKV_AWS_144:No cross-region replication: versioning keeps every state's history, and the state can be rebuilt with terraform import; a replica doubles cost for a few KB.
  #checkov:skip=CKV2_AWS_62:Nothing consumes events of state objects.
  bucket = local.state_bucket_name

  # Every environment's state is here: never deleted with a destroy, even an accidental one.
  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_s3_bucket_ownership_controls" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    object_ownership = "BucketOwnerEnforced" # ACLs off: access is decided by IAM and the bucket policy
  }
}

resource "aws_s3_bucket_versioning" "state" {
  bucket = aws_s3_bucket.state.id

  versioning_configuration {
    status = "Enabled" # a bad apply or a corrupted state is undone by restoring the previous version
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "aws:kms" # the AWS-managed aws/s3 key (see the header)
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "state" {
  bucket                  = aws_s3_bucket.state.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_policy" "state" {
  bucket = aws_s3_bucket.state.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        # Standard guard: a Deny, so the s3:* wildcard widens the protection.
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [aws_s3_bucket.state.arn, "${aws_s3_bucket.state.arn}/*"]
        Condition = {
          Bool = { "aws:SecureTransport" = "false" }
        }
      },
    ]
  })

  # PutBucketPolicy fails while the public access block is still being created.
  depends_on = [aws_s3_bucket_public_access_block.state]
}

resource "aws_s3_bucket_lifecycle_configuration" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    id     = "expire-replaced-state-versions"
    status = "Enabled"

    filter {}

    # Each apply replaces a state object, and each lock leaves a deleted .tflock object behind:
    # old versions expire, and delete markers left without versions go too.
    noncurrent_version_expiration {
      noncurrent_days           = var.noncurrent_version_expiration_days
      newer_noncurrent_versions = var.noncurrent_versions_to_keep
    }

    expiration {
      expired_object_delete_marker = true
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.state]
}
