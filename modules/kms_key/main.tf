################################################################################
# One customer managed KMS key: rotated every year, its policy = the administrator's statement
# (the account, which then grants the key's use through IAM) + the caller's Allow statements.
################################################################################

locals {
  # Built with jsonencode (not a data source) so the document is known at plan time and
  # `terraform test` can inspect it even with a mocked provider.
  policy_document = {
    Version = "2012-10-17"
    Statement = concat(
      [
        {
          Sid       = "EnableIamPoliciesOfThisAccount"
          Effect    = "Allow"
          Principal = { AWS = var.administrator_arn }
          Action    = "kms:*"
          Resource  = "*" # in a key policy, "*" is this key
        }
      ],
      [
        for s in var.policy_statements : merge(
          {
            Sid       = s.sid
            Effect    = "Allow"
            Principal = { (s.principals.type) = s.principals.identifiers }
            Action    = s.actions
            Resource  = "*"
          },
          length(s.conditions) > 0 ? { Condition = s.conditions } : {},
        )
      ]
    )
  }
}

resource "aws_kms_key" "this" {
  description             = var.description
  enable_key_rotation     = true
  deletion_window_in_days = var.deletion_window_in_days
  policy                  = jsonencode(local.policy_document)
  tags                    = var.tags
}
