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
  # The state layout (bucket name, keys, encryption, locking): one definition, shared with the
  # stack's output state_backend and tools/state_backend.py.
  state_backend     = jsondecode(file("${path.module}/state_backend.json"))
  state_bucket_name = coalesce(var.state_bucket_name, templatestring(local.state_backend.bucket, { project = var.project, account_id = data.aws_caller_identity.current.account_id }))
}

resource "aws_s3_bucket" "state" {
  #checkov:skip=CKV_AWS_18:No server access logging: it needs another bucket; the account's CloudTrail (the stack's trail records management events) shows who changed the bucket.
  #checkov:skip=CKV_AWS_144:No cross-region replication: versioning keeps every state's history, and the state can be rebuilt with terraform import; a replica doubles cost for a few KB.
  #checkov:skip=CKV2_AWS_62:Nothing consumes events of state objects.
  # False positives: checkov does not follow the bucket into module.state_bucket, which configures it.
  #checkov:skip=CKV2_AWS_6:module.state_bucket blocks all public access on this bucket (bootstrap/tests asserts it).
  #checkov:skip=CKV_AWS_21:module.state_bucket enables versioning on this bucket (bootstrap/tests asserts it).
  #checkov:skip=CKV_AWS_145:module.state_bucket encrypts this bucket with aws:kms (bootstrap/tests asserts it).
  #checkov:skip=CKV2_AWS_61:module.state_bucket gives this bucket its lifecycle rule (bootstrap/tests asserts it).
  bucket = local.state_bucket_name

  # Every environment's state is here: never deleted with a destroy, even an accidental one.
  lifecycle {
    prevent_destroy = true
  }
}

# Everything else the project's buckets share (modules/secure_bucket). The bucket itself is made
# above: prevent_destroy only takes a literal, so a module cannot switch it on for this bucket.
module "state_bucket" {
  source = "../modules/secure_bucket"

  # .bucket (not .id): known at plan time, and it makes the configuration wait for the bucket.
  bucket_name   = aws_s3_bucket.state.bucket
  create_bucket = false
  # ACLs off: access is decided by IAM and the bucket policy.
  object_ownership = "BucketOwnerEnforced"
  # The AWS-managed aws/s3 key (see the header).
  encryption = { sse_algorithm = "aws:kms" }

  # Each apply replaces a state object, and each lock leaves a deleted .tflock object behind:
  # old versions expire, and delete markers left without versions go too.
  lifecycle_rule = {
    id                           = "expire-replaced-state-versions"
    noncurrent_days              = var.noncurrent_version_expiration_days
    newer_noncurrent_versions    = var.noncurrent_versions_to_keep
    expired_object_delete_marker = true
  }
}

# The state bucket's configuration moved into module.state_bucket: an existing bootstrap state
# follows it (moves, no replacement).
moved {
  from = aws_s3_bucket_ownership_controls.state
  to   = module.state_bucket.aws_s3_bucket_ownership_controls.this[0]
}

moved {
  from = aws_s3_bucket_versioning.state
  to   = module.state_bucket.aws_s3_bucket_versioning.this
}

moved {
  from = aws_s3_bucket_server_side_encryption_configuration.state
  to   = module.state_bucket.aws_s3_bucket_server_side_encryption_configuration.this
}

moved {
  from = aws_s3_bucket_public_access_block.state
  to   = module.state_bucket.aws_s3_bucket_public_access_block.this
}

moved {
  from = aws_s3_bucket_policy.state
  to   = module.state_bucket.aws_s3_bucket_policy.this[0]
}

moved {
  from = aws_s3_bucket_lifecycle_configuration.state
  to   = module.state_bucket.aws_s3_bucket_lifecycle_configuration.this[0]
}
