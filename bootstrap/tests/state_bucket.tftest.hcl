# The state bucket of bootstrap/: plan only, against a mocked provider.
# Run from bootstrap/: terraform test (make test-terraform does).

mock_provider "aws" {
  override_during = plan

  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
      arn        = "arn:aws:iam::123456789012:user/terraform-test"
      user_id    = "AIDATERRAFORMTEST"
    }
  }

  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }

  mock_resource "aws_s3_bucket" {
    defaults = {
      arn = "arn:aws:s3:::econ-lake-tfstate-123456789012"
    }
  }
}

run "bucket_is_named_per_account" {
  command = plan

  assert {
    condition     = aws_s3_bucket.state.bucket == "econ-lake-tfstate-123456789012" && output.state_bucket_region == "us-east-1"
    error_message = "The state bucket must be <project>-tfstate-<account id> in the chosen region."
  }
}

run "bucket_is_versioned_encrypted_private_and_tls_only" {
  command = plan

  assert {
    condition     = module.state_bucket.versioning_status == "Enabled"
    error_message = "The state bucket must be versioned (a state can be restored)."
  }

  assert {
    condition = (
      module.state_bucket.encryption.sse_algorithm == "aws:kms" &&
      module.state_bucket.encryption.kms_master_key_id == null &&
      module.state_bucket.encryption.bucket_key_enabled
    )
    error_message = "The state bucket must use SSE-KMS with S3 Bucket Keys."
  }

  assert {
    condition = (
      module.state_bucket.public_access_blocked &&
      module.state_bucket.object_ownership == "BucketOwnerEnforced"
    )
    error_message = "The state bucket must block all public access and disable ACLs."
  }

  assert {
    condition = (
      jsondecode(module.state_bucket.policy).Statement[0].Effect == "Deny" &&
      jsondecode(module.state_bucket.policy).Statement[0].Principal == "*" &&
      jsondecode(module.state_bucket.policy).Statement[0].Action == "s3:*" &&
      jsondecode(module.state_bucket.policy).Statement[0].Condition.Bool["aws:SecureTransport"] == "false" &&
      jsondecode(module.state_bucket.policy).Statement[0].Resource == [
        "arn:aws:s3:::econ-lake-tfstate-123456789012", "arn:aws:s3:::econ-lake-tfstate-123456789012/*",
      ]
    )
    error_message = "The state bucket must deny every request made without TLS, on the bucket and its objects."
  }
}

run "replaced_versions_and_lock_leftovers_expire" {
  command = plan

  assert {
    condition = (
      module.state_bucket.lifecycle_rule.status == "Enabled" &&
      module.state_bucket.lifecycle_rule.noncurrent_version_expiration[0].noncurrent_days == 90 &&
      module.state_bucket.lifecycle_rule.noncurrent_version_expiration[0].newer_noncurrent_versions == 10 &&
      module.state_bucket.lifecycle_rule.expiration[0].expired_object_delete_marker
    )
    error_message = "Noncurrent state versions must expire after 90 days (keeping the newest 10), and orphaned delete markers with them."
  }
}

run "bucket_name_can_be_chosen" {
  command = plan

  variables {
    state_bucket_name = "my-org-terraform-state"
  }

  assert {
    condition     = aws_s3_bucket.state.bucket == "my-org-terraform-state"
    error_message = "state_bucket_name must name the bucket."
  }
}

run "rejects_an_invalid_bucket_name" {
  command = plan

  variables {
    state_bucket_name = "Not_A_Bucket"
  }

  expect_failures = [var.state_bucket_name]
}
