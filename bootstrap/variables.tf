variable "project" {
  description = "Project name: the state bucket is `<project>-tfstate-<account id>` unless state_bucket_name is set, and the stack's state keys start with it."
  type        = string
  default     = "econ-lake"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,22}[a-z0-9]$", var.project))
    error_message = "The project must be 3-24 characters of lowercase letters, digits and dashes, start with a letter and not end with a dash."
  }
}

variable "aws_region" {
  description = "Region of the state bucket (the stacks may deploy to any region; the backend names this one)."
  type        = string
  default     = "us-east-1"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.aws_region))
    error_message = "The aws_region must look like an AWS region code, e.g. \"us-east-1\"."
  }
}

variable "state_bucket_name" {
  description = "Name of the state bucket. null (the default): the name state_backend.json defines, `<project>-tfstate-<account id>`, unique per account."
  type        = string
  default     = null

  validation {
    condition     = var.state_bucket_name == null ? true : can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.state_bucket_name))
    error_message = "The state_bucket_name must be a valid S3 bucket name (3-63 lowercase letters, digits, dots and dashes), or null."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days a replaced state version is kept before it expires (1 to 3650): how far back a state can be restored. The newest noncurrent_versions_to_keep versions are kept whatever their age."
  type        = number
  default     = 90
  nullable    = false

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1 && var.noncurrent_version_expiration_days <= 3650 && floor(var.noncurrent_version_expiration_days) == var.noncurrent_version_expiration_days
    error_message = "The noncurrent_version_expiration_days must be a whole number from 1 to 3650."
  }
}

variable "noncurrent_versions_to_keep" {
  description = "How many replaced versions of each state object survive the expiration above (1 to 100)."
  type        = number
  default     = 10
  nullable    = false

  validation {
    condition     = var.noncurrent_versions_to_keep >= 1 && var.noncurrent_versions_to_keep <= 100 && floor(var.noncurrent_versions_to_keep) == var.noncurrent_versions_to_keep
    error_message = "The noncurrent_versions_to_keep must be a whole number from 1 to 100."
  }
}
