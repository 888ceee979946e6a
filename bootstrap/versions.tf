terraform {
  # The stack's S3 backend locks with use_lockfile (S3 conditional writes), new in Terraform 1.10.
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }
}

# Real AWS only, through the default credentials chain. This root keeps its own state in a local
# file (bootstrap/terraform.tfstate, gitignored): it creates the bucket every other state lives in.
provider "aws" {
  region = var.aws_region

  default_tags {
    tags = {
      project    = var.project
      component  = "terraform-state"
      managed-by = "terraform"
    }
  }
}
