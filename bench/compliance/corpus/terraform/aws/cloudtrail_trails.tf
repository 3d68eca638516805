# The organisation trail, and a trail left from a migration: one region, no validation,
# no KMS key, and switched off.
resource "aws_cloudtrail" "organization" {
  name                          = "organization"
  s3_bucket_name                = "acme-audit-logs"
  is_multi_region_trail         = true
  include_global_service_events = true
  enable_log_file_validation    = true
  kms_key_id                    = "arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-1111-2222-3333-444455556666"
}

resource "aws_cloudtrail" "migration" {
  name           = "migration"
  s3_bucket_name = "acme-migration-trail"
  enable_logging = false
}
