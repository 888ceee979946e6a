# modules/kms_key on its own: plan only, against a mocked provider.
# Run from modules/kms_key/: terraform test (make test-terraform does).

mock_provider "aws" {
  override_during = plan

  mock_resource "aws_kms_key" {
    defaults = {
      arn = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"
    }
  }
}

variables {
  description       = "example: encrypts the example topic."
  administrator_arn = "arn:aws:iam::123456789012:root"
}

run "defaults_rotate_and_let_the_account_administer" {
  command = plan

  assert {
    condition = (
      output.key_rotation_enabled &&
      aws_kms_key.this.deletion_window_in_days == 7 &&
      aws_kms_key.this.description == "example: encrypts the example topic."
    )
    error_message = "The key must be rotated and wait 7 days before a deletion by default."
  }

  assert {
    condition = jsondecode(output.policy).Statement == [{
      Sid       = "EnableIamPoliciesOfThisAccount"
      Effect    = "Allow"
      Principal = { AWS = "arn:aws:iam::123456789012:root" }
      Action    = "kms:*"
      Resource  = "*"
    }]
    error_message = "Without statements, the policy is the account's administration only."
  }
}

run "statements_follow_the_administrators" {
  command = plan

  variables {
    policy_statements = [
      {
        sid        = "AllowPublishers"
        principals = { type = "Service", identifiers = ["cloudwatch.amazonaws.com"] }
        actions    = ["kms:Decrypt", "kms:GenerateDataKey"]
      },
      {
        sid        = "AllowOneTrail"
        principals = { type = "Service", identifiers = ["cloudtrail.amazonaws.com"] }
        actions    = ["kms:GenerateDataKey*"]
        conditions = { StringEquals = { "aws:SourceArn" = "arn:aws:cloudtrail:us-east-1:123456789012:trail/t" } }
      },
    ]
  }

  assert {
    condition     = [for st in jsondecode(output.policy).Statement : st.Sid] == ["EnableIamPoliciesOfThisAccount", "AllowPublishers", "AllowOneTrail"]
    error_message = "The caller's statements come after the administrator's, in order."
  }

  assert {
    condition = (
      jsondecode(output.policy).Statement[1].Principal == { Service = ["cloudwatch.amazonaws.com"] } &&
      jsondecode(output.policy).Statement[1].Action == ["kms:Decrypt", "kms:GenerateDataKey"] &&
      jsondecode(output.policy).Statement[1].Resource == "*" &&
      !can(jsondecode(output.policy).Statement[1].Condition)
    )
    error_message = "A statement without conditions has no Condition element."
  }

  assert {
    condition     = jsondecode(output.policy).Statement[2].Condition.StringEquals["aws:SourceArn"] == "arn:aws:cloudtrail:us-east-1:123456789012:trail/t"
    error_message = "A statement's conditions are kept."
  }
}

run "full_control_is_the_administrators_alone" {
  command = plan

  variables {
    policy_statements = [
      {
        sid        = "TooBroad"
        principals = { type = "Service", identifiers = ["sns.amazonaws.com"] }
        actions    = ["kms:*"]
      },
    ]
  }

  expect_failures = [var.policy_statements]
}

run "principals_are_services_or_accounts" {
  command = plan

  variables {
    policy_statements = [
      {
        sid        = "Anyone"
        principals = { type = "Federated", identifiers = ["cognito-identity.amazonaws.com"] }
        actions    = ["kms:Decrypt"]
      },
    ]
  }

  expect_failures = [var.policy_statements]
}

run "the_deletion_window_is_7_to_30_days" {
  command = plan

  variables {
    deletion_window_in_days = 3
  }

  expect_failures = [var.deletion_window_in_days]
}

run "the_administrator_is_an_iam_principal" {
  command = plan

  variables {
    administrator_arn = "123456789012"
  }

  expect_failures = [var.administrator_arn]
}
