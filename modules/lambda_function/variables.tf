variable "name" {
  description = "Function name; also names the IAM role and the log group `/aws/lambda/<name>`."
  type        = string
  nullable    = false

  validation {
    # 64 is Lambda's limit for function names and IAM's for role names.
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.name))
    error_message = "The name must be 1-64 characters of letters, digits, dashes and underscores."
  }
}

variable "description" {
  description = "Description of the function."
  type        = string
  default     = ""
  nullable    = false

  validation {
    condition     = length(var.description) <= 256
    error_message = "The description must be at most 256 characters."
  }
}

variable "handler" {
  description = "Entry point as `<module path>.<function>`, e.g. `pipeline.handlers.ingest.handler`."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)+$", var.handler))
    error_message = "The handler must be a dotted Python path ending in the function name, e.g. \"pipeline.handlers.ingest.handler\"."
  }
}

variable "runtime" {
  description = "Lambda runtime; only Python 3 runtimes are supported by this module."
  type        = string
  default     = "python3.12"
  nullable    = false

  validation {
    condition     = can(regex("^python3\\.[0-9]+$", var.runtime))
    error_message = "The runtime must be a Python 3 runtime such as \"python3.12\"."
  }
}

variable "s3_bucket" {
  description = "Bucket holding the deployment package."
  type        = string
  nullable    = false
}

variable "s3_key" {
  description = "Key of the deployment package in s3_bucket."
  type        = string
  nullable    = false
}

variable "s3_object_version" {
  description = "Version of the deployment package object, when the bucket is versioned. Null uses the latest version."
  type        = string
  default     = null
}

variable "source_code_hash" {
  description = "Base64 SHA-256 of the deployment package (filebase64sha256); a change redeploys the code."
  type        = string
  nullable    = false
}

variable "timeout" {
  description = "Maximum run time of one invocation, in seconds (1 to 900)."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900 && floor(var.timeout) == var.timeout
    error_message = "The timeout must be a whole number of seconds from 1 to 900."
  }
}

variable "memory_size" {
  description = "Memory of the function, in MB (128 to 10240)."
  type        = number
  default     = 256
  nullable    = false

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240 && floor(var.memory_size) == var.memory_size
    error_message = "The memory_size must be a whole number of MB from 128 to 10240."
  }
}

variable "environment_variables" {
  description = "Environment variables of the function."
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    # AWS_* keys are reserved by Lambda (AWS_ENDPOINT_URL included: the emulator sets it, never Terraform).
    condition     = alltrue([for k in keys(var.environment_variables) : can(regex("^[A-Za-z][A-Za-z0-9_]*$", k)) && !startswith(k, "AWS_")])
    error_message = "Environment variable names must be letters, digits and underscores, start with a letter and not start with AWS_ (reserved)."
  }
}

variable "log_retention_days" {
  description = "Retention of the function's log group, in days (a value CloudWatch Logs accepts)."
  type        = number
  default     = 14
  nullable    = false

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "The log_retention_days must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "explicit_logging_config" {
  description = "Whether to set logging_config (log group and Text format) on the function. Lambda's default group is the same `/aws/lambda/<name>`, so false changes nothing on AWS; it exists for emulators that do not implement LoggingConfig (moto 5.2), where an explicit block is a perpetual diff."
  type        = bool
  default     = true
  nullable    = false
}

variable "policy_statements" {
  description = "Allow statements of the execution role's inline policy. Actions must be explicit: wildcards are rejected. Writing to the function's own log group is always added."
  type = list(object({
    sid       = string
    actions   = list(string)
    resources = list(string)
  }))
  default  = []
  nullable = false

  validation {
    condition     = alltrue([for s in var.policy_statements : length(s.actions) > 0 && alltrue([for a in s.actions : !strcontains(a, "*")])])
    error_message = "Every statement needs at least one action, and no action may contain \"*\" (least privilege: list the actions)."
  }

  validation {
    condition     = alltrue([for s in var.policy_statements : can(regex("^[A-Za-z0-9]+$", s.sid))])
    error_message = "Every sid must be alphanumeric (IAM's rule for statement ids)."
  }

  validation {
    condition     = length(distinct([for s in var.policy_statements : s.sid])) == length(var.policy_statements)
    error_message = "Statement sids must be unique."
  }

  validation {
    condition     = alltrue([for s in var.policy_statements : length(s.resources) > 0])
    error_message = "Every statement needs at least one resource."
  }
}

variable "allowed_triggers" {
  description = "Resource-policy permissions, one aws_lambda_permission each, keyed by a statement id. With function_url_auth_type set the action is lambda:InvokeFunctionUrl, otherwise lambda:InvokeFunction."
  type = map(object({
    principal              = string
    source_arn             = optional(string)
    function_url_auth_type = optional(string)
  }))
  default  = {}
  nullable = false

  validation {
    condition     = alltrue([for k in keys(var.allowed_triggers) : can(regex("^[A-Za-z0-9_-]{1,100}$", k))])
    error_message = "The allowed_triggers keys become statement ids: 1-100 letters, digits, dashes or underscores."
  }

  validation {
    condition     = alltrue([for t in values(var.allowed_triggers) : t.function_url_auth_type == null ? true : contains(["NONE", "AWS_IAM"], t.function_url_auth_type)])
    error_message = "A function_url_auth_type must be NONE or AWS_IAM."
  }
}

variable "tags" {
  description = "Tags added to the role, the log group and the function (on top of the provider's default_tags)."
  type        = map(string)
  default     = {}
  nullable    = false
}
