# State moves of the refactor that made every bucket a modules/secure_bucket instance: an
# existing stack's state follows the new addresses on the next plan (moves, no replacement).
# Each moved block names one instance: Terraform cannot move a for_each resource into the
# instances of a module as a whole. A block whose "from" is not in the state does nothing.

moved {
  from = aws_s3_bucket.this["bronze"]
  to   = module.lake_bucket["bronze"].aws_s3_bucket.this[0]
}

moved {
  from = aws_s3_bucket_versioning.this["bronze"]
  to   = module.lake_bucket["bronze"].aws_s3_bucket_versioning.this
}

moved {
  from = aws_s3_bucket_server_side_encryption_configuration.this["bronze"]
  to   = module.lake_bucket["bronze"].aws_s3_bucket_server_side_encryption_configuration.this
}

moved {
  from = aws_s3_bucket_public_access_block.this["bronze"]
  to   = module.lake_bucket["bronze"].aws_s3_bucket_public_access_block.this
}

moved {
  from = aws_s3_bucket_policy.tls_only["bronze"]
  to   = module.lake_bucket["bronze"].aws_s3_bucket_policy.this[0]
}

moved {
  from = aws_s3_bucket_lifecycle_configuration.bronze
  to   = module.lake_bucket["bronze"].aws_s3_bucket_lifecycle_configuration.this[0]
}

moved {
  from = aws_s3_bucket.this["silver"]
  to   = module.lake_bucket["silver"].aws_s3_bucket.this[0]
}

moved {
  from = aws_s3_bucket_versioning.this["silver"]
  to   = module.lake_bucket["silver"].aws_s3_bucket_versioning.this
}

moved {
  from = aws_s3_bucket_server_side_encryption_configuration.this["silver"]
  to   = module.lake_bucket["silver"].aws_s3_bucket_server_side_encryption_configuration.this
}

moved {
  from = aws_s3_bucket_public_access_block.this["silver"]
  to   = module.lake_bucket["silver"].aws_s3_bucket_public_access_block.this
}

moved {
  from = aws_s3_bucket_policy.tls_only["silver"]
  to   = module.lake_bucket["silver"].aws_s3_bucket_policy.this[0]
}

moved {
  from = aws_s3_bucket_lifecycle_configuration.replaced_versions["silver"]
  to   = module.lake_bucket["silver"].aws_s3_bucket_lifecycle_configuration.this[0]
}

moved {
  from = aws_s3_bucket.this["gold"]
  to   = module.lake_bucket["gold"].aws_s3_bucket.this[0]
}

moved {
  from = aws_s3_bucket_versioning.this["gold"]
  to   = module.lake_bucket["gold"].aws_s3_bucket_versioning.this
}

moved {
  from = aws_s3_bucket_server_side_encryption_configuration.this["gold"]
  to   = module.lake_bucket["gold"].aws_s3_bucket_server_side_encryption_configuration.this
}

moved {
  from = aws_s3_bucket_public_access_block.this["gold"]
  to   = module.lake_bucket["gold"].aws_s3_bucket_public_access_block.this
}

moved {
  from = aws_s3_bucket_policy.tls_only["gold"]
  to   = module.lake_bucket["gold"].aws_s3_bucket_policy.this[0]
}

moved {
  from = aws_s3_bucket_lifecycle_configuration.replaced_versions["gold"]
  to   = module.lake_bucket["gold"].aws_s3_bucket_lifecycle_configuration.this[0]
}

moved {
  from = aws_s3_bucket.this["artifacts"]
  to   = module.lake_bucket["artifacts"].aws_s3_bucket.this[0]
}

moved {
  from = aws_s3_bucket_versioning.this["artifacts"]
  to   = module.lake_bucket["artifacts"].aws_s3_bucket_versioning.this
}

moved {
  from = aws_s3_bucket_server_side_encryption_configuration.this["artifacts"]
  to   = module.lake_bucket["artifacts"].aws_s3_bucket_server_side_encryption_configuration.this
}

moved {
  from = aws_s3_bucket_public_access_block.this["artifacts"]
  to   = module.lake_bucket["artifacts"].aws_s3_bucket_public_access_block.this
}

moved {
  from = aws_s3_bucket_policy.tls_only["artifacts"]
  to   = module.lake_bucket["artifacts"].aws_s3_bucket_policy.this[0]
}

moved {
  from = aws_s3_bucket_lifecycle_configuration.replaced_versions["artifacts"]
  to   = module.lake_bucket["artifacts"].aws_s3_bucket_lifecycle_configuration.this[0]
}

moved {
  from = aws_s3_bucket.athena_results[0]
  to   = module.athena_results_bucket[0].aws_s3_bucket.this[0]
}

moved {
  from = aws_s3_bucket_versioning.athena_results[0]
  to   = module.athena_results_bucket[0].aws_s3_bucket_versioning.this
}

moved {
  from = aws_s3_bucket_server_side_encryption_configuration.athena_results[0]
  to   = module.athena_results_bucket[0].aws_s3_bucket_server_side_encryption_configuration.this
}

moved {
  from = aws_s3_bucket_public_access_block.athena_results[0]
  to   = module.athena_results_bucket[0].aws_s3_bucket_public_access_block.this
}

moved {
  from = aws_s3_bucket_policy.athena_results_tls_only[0]
  to   = module.athena_results_bucket[0].aws_s3_bucket_policy.this[0]
}

moved {
  from = aws_s3_bucket_lifecycle_configuration.athena_results[0]
  to   = module.athena_results_bucket[0].aws_s3_bucket_lifecycle_configuration.this[0]
}

moved {
  from = aws_s3_bucket.audit_trail[0]
  to   = module.audit_trail_bucket[0].aws_s3_bucket.this[0]
}

moved {
  from = aws_s3_bucket_versioning.audit_trail[0]
  to   = module.audit_trail_bucket[0].aws_s3_bucket_versioning.this
}

moved {
  from = aws_s3_bucket_server_side_encryption_configuration.audit_trail[0]
  to   = module.audit_trail_bucket[0].aws_s3_bucket_server_side_encryption_configuration.this
}

moved {
  from = aws_s3_bucket_public_access_block.audit_trail[0]
  to   = module.audit_trail_bucket[0].aws_s3_bucket_public_access_block.this
}

moved {
  from = aws_s3_bucket_policy.audit_trail[0]
  to   = module.audit_trail_bucket[0].aws_s3_bucket_policy.this[0]
}

moved {
  from = aws_s3_bucket_lifecycle_configuration.audit_trail[0]
  to   = module.audit_trail_bucket[0].aws_s3_bucket_lifecycle_configuration.this[0]
}

# The three customer managed keys became modules/kms_key instances (one definition of the key and
# its policy's administrator statement): the keys move, nothing is replaced.

moved {
  from = aws_kms_key.athena_results[0]
  to   = module.athena_results_key[0].aws_kms_key.this
}

moved {
  from = aws_kms_key.audit[0]
  to   = module.audit_key[0].aws_kms_key.this
}

moved {
  from = aws_kms_key.alarms[0]
  to   = module.alarm_topic_key[0].aws_kms_key.this
}

# The stream's two event source mappings became one for_each resource.

moved {
  from = aws_lambda_event_source_mapping.ingest
  to   = aws_lambda_event_source_mapping.stream["ingest"]
}

moved {
  from = aws_lambda_event_source_mapping.live[0]
  to   = aws_lambda_event_source_mapping.stream["live"]
}

# Each function became its own modules/lambda_function call (its IAM, environment and triggers
# beside it): the functions, roles, policies, log groups and permissions move, nothing is replaced.

moved {
  from = module.lambda["ingest"]
  to   = module.ingest_function
}

moved {
  from = module.lambda["transform"]
  to   = module.transform_function
}

moved {
  from = module.lambda["aggregate"]
  to   = module.aggregate_function
}

moved {
  from = module.lambda["live"]
  to   = module.live_function
}

moved {
  from = module.lambda["api"]
  to   = module.api_function
}
