# modules/secure_bucket on its own: plan only, against a mocked provider.
# Run from modules/secure_bucket/: terraform test (make test-terraform does).

mock_provider "aws" {
  override_during = plan

  mock_resource "aws_s3_bucket" {
    defaults = {
      arn = "arn:aws:s3:::example-bucket"
    }
  }

  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }
}

variables {
  bucket_name = "example-bucket"
}

run "defaults_are_private_versioned_kms_and_tls_only" {
  command = plan

  assert {
    condition = (
      output.id == "example-bucket" &&
      output.versioning_status == "Enabled" &&
      output.public_access_blocked &&
      output.encryption.sse_algorithm == "aws:kms" &&
      output.encryption.kms_master_key_id == null &&
      output.encryption.bucket_key_enabled &&
      !output.force_destroy
    )
    error_message = "By default the bucket must be versioned, private, SSE-KMS (aws/s3 key, bucket keys) and kept on destroy."
  }

  assert {
    condition = (
      [for st in jsondecode(output.policy).Statement : st.Sid] == ["DenyInsecureTransport"] &&
      jsondecode(output.policy).Statement[0].Effect == "Deny" &&
      jsondecode(output.policy).Statement[0].Action == "s3:*" &&
      jsondecode(output.policy).Statement[0].Condition.Bool["aws:SecureTransport"] == "false" &&
      jsondecode(output.policy).Statement[0].Resource == ["arn:aws:s3:::example-bucket", "arn:aws:s3:::example-bucket/*"]
    )
    error_message = "The policy must deny every request made without TLS, on the bucket and its objects."
  }

  assert {
    condition     = output.lifecycle_rule == null && output.object_ownership == null
    error_message = "No lifecycle rule and no ownership controls unless asked for."
  }
}

run "emulator_bucket_uses_sse_s3_without_policy" {
  command = plan

  variables {
    encryption  = { sse_algorithm = "AES256" }
    enforce_tls = false
  }

  assert {
    condition     = output.encryption.sse_algorithm == "AES256" && output.encryption.bucket_key_enabled == null && output.policy == null
    error_message = "AES256 takes no bucket key, and enforce_tls = false leaves the bucket without a policy."
  }
}

run "extra_statements_follow_the_tls_guard" {
  command = plan

  variables {
    encryption = { sse_algorithm = "aws:kms", kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/11111111-1111-1111-1111-111111111111" }
    policy_statements = [{
      Sid       = "ServiceWrites"
      Effect    = "Allow"
      Principal = { Service = "cloudtrail.amazonaws.com" }
      Action    = "s3:PutObject"
      Resource  = "arn:aws:s3:::example-bucket/AWSLogs/*"
    }]
  }

  assert {
    condition = (
      [for st in jsondecode(output.policy).Statement : st.Sid] == ["DenyInsecureTransport", "ServiceWrites"] &&
      output.encryption.kms_master_key_id == "arn:aws:kms:us-east-1:123456789012:key/11111111-1111-1111-1111-111111111111"
    )
    error_message = "Caller statements come after the TLS guard; a customer managed key is used when given."
  }
}

run "lifecycle_rule_tiers_expires_and_aborts_uploads" {
  command = plan

  variables {
    lifecycle_rule = { id = "tier-and-expire", transition_days = 30, expiration_days = 90, noncurrent_days = 7 }
  }

  assert {
    condition = (
      output.lifecycle_rule.id == "tier-and-expire" &&
      output.lifecycle_rule.status == "Enabled" &&
      one(output.lifecycle_rule.transition).days == 30 &&
      one(output.lifecycle_rule.transition).storage_class == "STANDARD_IA" &&
      output.lifecycle_rule.expiration[0].days == 90 &&
      output.lifecycle_rule.noncurrent_version_expiration[0].noncurrent_days == 7 &&
      output.lifecycle_rule.abort_incomplete_multipart_upload[0].days_after_initiation == 1
    )
    error_message = "The rule must transition, expire, expire noncurrent versions and abort incomplete uploads after a day."
  }
}

run "caller_created_bucket_with_ownership_controls" {
  command = plan

  variables {
    create_bucket    = false
    object_ownership = "BucketOwnerEnforced"
    lifecycle_rule   = { id = "keep-ten", noncurrent_days = 90, newer_noncurrent_versions = 10, expired_object_delete_marker = true }
  }

  assert {
    condition = (
      output.arn == "arn:aws:s3:::example-bucket" &&
      output.force_destroy == null &&
      output.object_ownership == "BucketOwnerEnforced" &&
      output.lifecycle_rule.noncurrent_version_expiration[0].newer_noncurrent_versions == 10 &&
      output.lifecycle_rule.expiration[0].expired_object_delete_marker
    )
    error_message = "create_bucket = false must configure the named bucket (ARN from its name), with ownership controls and the delete-marker cleanup."
  }
}

# The rule behind the root's bronze_expiration_days > bronze_ia_transition_days (it lives here only).
run "rejects_expiration_before_transition" {
  command = plan

  variables {
    lifecycle_rule = { id = "bronze", transition_days = 60, expiration_days = 45, noncurrent_days = 7 }
  }

  expect_failures = [var.lifecycle_rule]
}

run "rejects_a_key_with_sse_s3" {
  command = plan

  variables {
    encryption = { sse_algorithm = "AES256", kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/11111111-1111-1111-1111-111111111111" }
  }

  expect_failures = [var.encryption]
}

run "rejects_wildcard_allow" {
  command = plan

  variables {
    policy_statements = [{ Sid = "TooWide", Effect = "Allow", Principal = "*", Action = "s3:*", Resource = "*" }]
  }

  expect_failures = [var.policy_statements]
}

run "rejects_an_invalid_bucket_name" {
  command = plan

  variables {
    bucket_name = "Not_A_Bucket"
  }

  expect_failures = [var.bucket_name]
}
