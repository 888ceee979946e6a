################################################################################
# Audit (AWS environments: dev and prod): a CloudTrail trail per environment, writing to its own
# KMS-encrypted, versioned, TLS-only bucket with log file validation. Management events always;
# S3 data events of the lake's buckets when local.settings.cloudtrail_s3_data_events (prod).
# The emulators have no CloudTrail.
################################################################################

locals {
  trail_name        = "${local.prefix}-trail"
  audit_bucket_name = "${local.prefix}-cloudtrail${local.bucket_suffix}"
  # The trail's ARN, known before it exists: the bucket and key policies are scoped to it.
  trail_arn = local.is_local ? null : "arn:${local.partition}:cloudtrail:${var.aws_region}:${local.account_id}:trail/${local.trail_name}"
  # The encryption context CloudTrail gives the key: a trail of this account, in any region.
  any_trail_of_this_account_arn = local.is_local ? null : "arn:${local.partition}:cloudtrail:*:${local.account_id}:trail/*"
  # Where CloudTrail writes: AWSLogs/<account id>/ under the bucket (no key prefix).
  audit_bucket_arn      = local.is_local ? null : "arn:${local.partition}:s3:::${local.audit_bucket_name}"
  audit_log_objects_arn = local.is_local ? null : "${local.audit_bucket_arn}/AWSLogs/${local.account_id}/*"
  # Object-level events of the lake's buckets ("<bucket arn>/" = every object in it).
  trail_data_event_buckets = local.settings.cloudtrail_s3_data_events && !local.is_local ? [
    for layer in sort(tolist(local.layers)) : "arn:${local.partition}:s3:::${local.bucket_names[layer]}/"
  ] : []
}

module "audit_key" {
  source = "./modules/kms_key"
  count  = local.aws_count

  description       = "${local.prefix}: encrypts the CloudTrail log files of ${local.trail_name} (${local.audit_bucket_name})."
  administrator_arn = local.account_root_arn
  policy_statements = [
    {
      # CloudTrail encrypts each log file with a data key of this key, for this trail only.
      sid        = "AllowThisTrailToEncryptLogs"
      principals = { type = "Service", identifiers = ["cloudtrail.amazonaws.com"] }
      actions    = ["kms:GenerateDataKey*"]
      conditions = {
        StringEquals = { "aws:SourceArn" = local.trail_arn }
        StringLike   = { "kms:EncryptionContext:aws:cloudtrail:arn" = local.any_trail_of_this_account_arn }
      }
    },
    {
      sid        = "AllowCloudTrailToDescribeKey"
      principals = { type = "Service", identifiers = ["cloudtrail.amazonaws.com"] }
      actions    = ["kms:DescribeKey"]
    },
    {
      # Readers of the logs (and the validation digests) decrypt through their IAM permissions.
      sid        = "AllowAccountPrincipalsToDecryptLogs"
      principals = { type = "AWS", identifiers = [local.account_root_arn] }
      actions    = ["kms:Decrypt"]
      conditions = {
        StringLike = { "kms:EncryptionContext:aws:cloudtrail:arn" = local.any_trail_of_this_account_arn }
      }
    },
  ]
}

# TLS only, plus what CloudTrail needs: read the bucket's ACL, and write its files (owned by the
# bucket owner) under AWSLogs/<account id>/, for this environment's trail only.
module "audit_trail_bucket" {
  source = "./modules/secure_bucket"
  count  = local.aws_count

  bucket_name = local.audit_bucket_name
  # dev: torn down with the stack; prod: the audit log outlives a destroy.
  force_destroy = local.settings.bucket_force_destroy
  tags          = { layer = "audit" }

  encryption = { sse_algorithm = "aws:kms", kms_key_arn = module.audit_key[0].arn }
  policy_statements = [
    {
      Sid       = "CloudTrailChecksBucketAcl"
      Effect    = "Allow"
      Principal = { Service = "cloudtrail.amazonaws.com" }
      Action    = "s3:GetBucketAcl"
      Resource  = local.audit_bucket_arn
      Condition = {
        StringEquals = { "aws:SourceArn" = local.trail_arn }
      }
    },
    {
      Sid       = "CloudTrailWritesLogFiles"
      Effect    = "Allow"
      Principal = { Service = "cloudtrail.amazonaws.com" }
      Action    = "s3:PutObject"
      Resource  = local.audit_log_objects_arn
      Condition = {
        StringEquals = {
          "s3:x-amz-acl"  = "bucket-owner-full-control"
          "aws:SourceArn" = local.trail_arn
        }
      }
    },
  ]
  lifecycle_rule = {
    id              = "expire-audit-logs"
    expiration_days = local.settings.audit_log_retention_days
    noncurrent_days = 7
  }
}

resource "aws_cloudtrail" "lake" {
  count = local.aws_count

  #checkov:skip=CKV2_AWS_10:No CloudWatch Logs delivery: it costs per GB ingested again; the files in S3 are the record, queried with Athena or the CloudTrail console's event history.
  #checkov:skip=CKV_AWS_252:No SNS notification per log file delivered: nothing consumes it; the alarms and budget have their own topic.
  name           = local.trail_name
  s3_bucket_name = module.audit_trail_bucket[0].id
  kms_key_id     = module.audit_key[0].arn
  # Digest files let `aws cloudtrail validate-logs` prove that no log file was changed or removed.
  enable_log_file_validation = true
  # IAM, STS and other global services' events, from every region (one trail per environment).
  include_global_service_events = true
  is_multi_region_trail         = true

  event_selector {
    read_write_type           = "All"
    include_management_events = true

    dynamic "data_resource" {
      for_each = length(local.trail_data_event_buckets) > 0 ? [local.trail_data_event_buckets] : []

      content {
        type   = "AWS::S3::Object"
        values = data_resource.value
      }
    }
  }

  # CloudTrail checks the bucket policy and the key when the trail is created; the data event
  # selectors name the lake's buckets, which must exist.
  depends_on = [module.audit_trail_bucket, module.lake_bucket]
}
