variable "bucket_name" {
  description = "Name of the bucket (globally unique on AWS). With create_bucket = false, the name of an existing bucket this module configures: pass the bucket resource's id so that the configuration waits for it."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "The bucket_name must be a valid S3 bucket name: 3-63 lowercase letters, digits, dots and dashes, starting and ending with a letter or digit."
  }
}

variable "create_bucket" {
  description = "Whether this module creates the bucket (true), or configures one the caller creates (false). false exists for a bucket that needs `lifecycle { prevent_destroy = true }`, which Terraform accepts only as a literal, so a module cannot switch it on for one caller."
  type        = bool
  default     = true
  nullable    = false
}

variable "force_destroy" {
  description = "Whether `terraform destroy` deletes the bucket with every object version in it (true), or stops at a bucket that is not empty (false). Only with create_bucket = true."
  type        = bool
  default     = false
  nullable    = false
}

variable "tags" {
  description = "Tags of the bucket (added to the provider's default_tags). Only with create_bucket = true."
  type        = map(string)
  default     = {}
  nullable    = false
}

variable "encryption" {
  description = "Default encryption of new objects. sse_algorithm \"aws:kms\" (with S3 Bucket Keys, which keep KMS requests near zero) or \"AES256\" (SSE-S3, for emulators without KMS). kms_key_arn: the customer managed key of aws:kms; null means the AWS-managed aws/s3 key. AES256 takes no key."
  type = object({
    sse_algorithm = string
    kms_key_arn   = optional(string)
  })
  default  = { sse_algorithm = "aws:kms" }
  nullable = false

  validation {
    condition     = contains(["aws:kms", "AES256"], var.encryption.sse_algorithm)
    error_message = "The encryption.sse_algorithm must be \"aws:kms\" or \"AES256\"."
  }

  validation {
    condition     = var.encryption.sse_algorithm == "aws:kms" || var.encryption.kms_key_arn == null
    error_message = "The encryption.kms_key_arn can only be set with sse_algorithm \"aws:kms\"."
  }
}

variable "enforce_tls" {
  description = "Whether the bucket policy denies every request made without TLS (on the bucket and its objects). false only for emulators reached over plain http, where the policy would (correctly) deny every request."
  type        = bool
  default     = true
  nullable    = false
}

variable "policy_statements" {
  description = "Further statements of the bucket policy, after the TLS-only Deny (e.g. a service's write access), as IAM policy JSON objects (Sid, Effect, Principal, Action, Resource, Condition). With enforce_tls = false they are the whole policy."
  type        = list(any)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for s in var.policy_statements : can(s.Sid) && can(s.Effect) && can(s.Action) && can(s.Resource)])
    error_message = "Each of policy_statements must have a Sid, an Effect, an Action and a Resource."
  }

  validation {
    # Least privilege: Allow statements name their actions (a wildcard is fine only to widen a Deny).
    condition     = alltrue([for s in var.policy_statements : try(s.Effect, "") != "Allow" || alltrue([for a in flatten([try(s.Action, [])]) : !strcontains(a, "*")])])
    error_message = "Allow statements of policy_statements must not use action wildcards."
  }
}

variable "object_ownership" {
  description = "Object ownership of the bucket (aws_s3_bucket_ownership_controls): \"BucketOwnerEnforced\" turns ACLs off, so that only IAM and the bucket policy decide access. null: no ownership controls are managed (new buckets default to BucketOwnerEnforced on AWS anyway)."
  type        = string
  default     = null

  validation {
    condition     = var.object_ownership == null ? true : contains(["BucketOwnerEnforced", "BucketOwnerPreferred", "ObjectWriter"], var.object_ownership)
    error_message = "The object_ownership must be null, \"BucketOwnerEnforced\", \"BucketOwnerPreferred\" or \"ObjectWriter\"."
  }
}

variable "lifecycle_rule" {
  description = <<-EOT
    The bucket's lifecycle rule over every object, or null for none. Incomplete multipart uploads are always
    aborted after a day. id: the rule's id. noncurrent_days: days a replaced (noncurrent) version is kept;
    newer_noncurrent_versions: how many of them survive regardless. transition_days: days until objects move to
    transition_storage_class. expiration_days: days until current objects expire (after transition_days).
    expired_object_delete_marker: whether delete markers left without versions are removed (not with expiration_days).
  EOT
  type = object({
    id                           = string
    noncurrent_days              = number
    newer_noncurrent_versions    = optional(number)
    transition_days              = optional(number)
    transition_storage_class     = optional(string, "STANDARD_IA")
    expiration_days              = optional(number)
    expired_object_delete_marker = optional(bool, false)
  })
  default = null

  validation {
    condition     = var.lifecycle_rule == null ? true : can(regex("^[A-Za-z0-9._-]{1,255}$", var.lifecycle_rule.id))
    error_message = "The lifecycle_rule.id must be 1-255 letters, digits, dots, dashes or underscores."
  }

  validation {
    condition = var.lifecycle_rule == null ? true : alltrue([
      for days in [var.lifecycle_rule.noncurrent_days, var.lifecycle_rule.transition_days, var.lifecycle_rule.expiration_days, var.lifecycle_rule.newer_noncurrent_versions] :
      days == null ? true : (days >= 1 && floor(days) == days)
    ])
    error_message = "The lifecycle_rule day counts and newer_noncurrent_versions must be positive whole numbers."
  }

  validation {
    # S3 rejects an expiration that is not after the transition.
    condition     = try(var.lifecycle_rule.expiration_days > var.lifecycle_rule.transition_days, true)
    error_message = "The lifecycle_rule.expiration_days must be greater than transition_days."
  }

  validation {
    condition     = var.lifecycle_rule == null ? true : contains(["STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"], var.lifecycle_rule.transition_storage_class)
    error_message = "The lifecycle_rule.transition_storage_class must be an S3 storage class objects can transition to."
  }

  validation {
    # S3 accepts one of the two in an expiration block, not both.
    condition     = var.lifecycle_rule == null ? true : !(var.lifecycle_rule.expiration_days != null && var.lifecycle_rule.expired_object_delete_marker)
    error_message = "The lifecycle_rule cannot set both expiration_days and expired_object_delete_marker."
  }
}
