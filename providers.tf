terraform {
  # 1.9: variable validations that read local values; 1.10: the S3 backend's use_lockfile (dev, prod).
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }
}

# One provider block, two behaviours:
#   local - every service used here is sent to var.local_endpoint (moto / LocalStack) with
#           dummy credentials and no account lookups;
#   dev, prod - real AWS through the default credentials chain (env vars, profile, SSO, IMDS...).
# `tflocal` writes its own localstack_providers_override.tf; Terraform's override merge then
# replaces the attributes and the endpoints block below with tflocal's values.
provider "aws" {
  region = var.aws_region

  access_key = local.is_local ? "test" : null
  secret_key = local.is_local ? "test" : null

  skip_credentials_validation = local.is_local
  skip_metadata_api_check     = local.is_local
  skip_requesting_account_id  = local.is_local
  s3_use_path_style           = local.is_local

  dynamic "endpoints" {
    for_each = local.is_local ? [var.local_endpoint] : []

    content {
      cloudwatchlogs = endpoints.value
      dynamodb       = endpoints.value
      events         = endpoints.value
      iam            = endpoints.value
      kinesis        = endpoints.value
      kms            = endpoints.value
      lambda         = endpoints.value
      s3             = endpoints.value
      sqs            = endpoints.value
      sts            = endpoints.value
    }
  }

  default_tags {
    tags = {
      project     = var.project
      environment = var.environment
      managed-by  = "terraform"
    }
  }
}
