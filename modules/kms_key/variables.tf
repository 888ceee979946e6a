variable "description" {
  description = "Description of the key: what it encrypts and who uses it."
  type        = string
  nullable    = false

  validation {
    # 8192 is KMS's limit for a key description.
    condition     = length(trimspace(var.description)) > 0 && length(var.description) <= 8192
    error_message = "The description must be 1 to 8192 characters, not blank."
  }
}

variable "administrator_arn" {
  description = "IAM principal that administers the key (the key policy's first statement, kms:* on the key): the account root, so that the account grants its use through IAM policies."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(root|role/.+|user/.+)$", var.administrator_arn))
    error_message = "The administrator_arn must be an IAM ARN of this form: arn:<partition>:iam::<12-digit account>:root (or a role or user)."
  }
}

variable "deletion_window_in_days" {
  description = "Days a scheduled deletion of the key waits, during which it can be cancelled (7 to 30)."
  type        = number
  default     = 7
  nullable    = false

  validation {
    condition     = var.deletion_window_in_days >= 7 && var.deletion_window_in_days <= 30 && floor(var.deletion_window_in_days) == var.deletion_window_in_days
    error_message = "The deletion_window_in_days must be a whole number of days from 7 to 30."
  }
}

variable "policy_statements" {
  description = "Allow statements added to the key policy after the administrator's: who may use the key (principals of type Service or AWS), for which KMS actions, under which conditions ({operator = {key = value}}). The resource is always the key itself (\"*\" in a key policy)."
  type = list(object({
    sid        = string
    principals = object({ type = string, identifiers = list(string) })
    actions    = list(string)
    conditions = optional(map(map(string)), {})
  }))
  default  = []
  nullable = false

  validation {
    condition     = alltrue([for s in var.policy_statements : can(regex("^[A-Za-z0-9]+$", s.sid))])
    error_message = "Every sid must be alphanumeric (IAM's rule for statement ids)."
  }

  validation {
    condition     = length(distinct([for s in var.policy_statements : s.sid])) == length(var.policy_statements)
    error_message = "Statement sids must be unique."
  }

  validation {
    condition     = alltrue([for s in var.policy_statements : contains(["Service", "AWS"], s.principals.type) && length(s.principals.identifiers) > 0])
    error_message = "Every statement needs principals of type Service or AWS, at least one."
  }

  validation {
    # Full control is the administrator's alone; callers grant named KMS actions.
    condition     = alltrue([for s in var.policy_statements : length(s.actions) > 0 && alltrue([for a in s.actions : startswith(a, "kms:") && !contains(["*", "kms:*"], a)])])
    error_message = "Every statement needs at least one action; actions are KMS actions (kms:...), never \"*\" or \"kms:*\"."
  }
}

variable "tags" {
  description = "Tags of the key (on top of the provider's default_tags)."
  type        = map(string)
  default     = {}
  nullable    = false
}
