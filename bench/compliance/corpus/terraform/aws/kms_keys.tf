# Customer managed keys.
resource "aws_kms_key" "app_data" {
  description             = "application data"
  deletion_window_in_days = 30
  enable_key_rotation     = true
}

resource "aws_kms_key" "backups" {
  description             = "backup encryption"
  deletion_window_in_days = 30
}

resource "aws_kms_key" "document_signing" {
  description              = "signs exported documents"
  key_usage                = "SIGN_VERIFY"
  customer_master_key_spec = "RSA_2048"
}

resource "aws_kms_key" "token_mac" {
  description              = "HMAC key for session tokens"
  key_usage                = "GENERATE_VERIFY_MAC"
  customer_master_key_spec = "HMAC_256"
}
