# Legacy TLS certificate uploaded to IAM with its private key inline.
resource "aws_iam_server_certificate" "legacy_portal" {
  name             = "legacy-portal-2024"
  certificate_body = file("${path.module}/certs/legacy-portal.crt")
  private_key      = <<-EOT
    -----BEGIN RSA PRIVATE KEY-----
    MIIEowIBAAKCAQEAsYm8nT4xGv3k9cP1qLwZ0rJ6hD2uF5eA7bN9mK3tR8yV1sXo
    Qz4wE6pL2nH7jU9cB0vT5rY3kM8fD1gS6aW2xN4qP7zL0oI9uE5tR3yH6bV8nC2m
    -----END RSA PRIVATE KEY-----
  EOT
}
