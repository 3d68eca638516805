# Application logs kept a month without a KMS key; audit logs kept 400 days with one.
resource "aws_cloudwatch_log_group" "orders_app" {
  name              = "/acme/orders/app"
  retention_in_days = 30
}

resource "aws_cloudwatch_log_group" "audit" {
  name              = "/acme/audit"
  retention_in_days = 400
  kms_key_id        = "arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-1111-2222-3333-444455556666"
}
