# Application settings in SSM Parameter Store.
resource "aws_ssm_parameter" "payments_api_key" {
  name  = "/payments/api-key"
  type  = "SecureString"
  value = "pk_live_51HxQ2cLmN8vR3tY6wZ9aB4dE7gJ0kP"
}

resource "aws_ssm_parameter" "payments_endpoint" {
  name  = "/payments/endpoint"
  type  = "String"
  value = "https://api.payments.example/v2"
}

resource "aws_ssm_parameter" "webhook_signing" {
  name  = "/payments/webhook-signing"
  type  = "String"
  value = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
}
