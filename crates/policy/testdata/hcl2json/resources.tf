resource "aws_s3_bucket" "logs" {
  bucket = "acme-logs"
  tags = {
    owner         = "sre"
    "cost-center" = 42
  }
  versioning {
    enabled = true
  }
  lifecycle_rule {
    id = "a"
  }
  lifecycle_rule {
    id = "b"
  }
}

resource "aws_security_group_rule" "open" {
  type        = "ingress"
  cidr_blocks = ["0.0.0.0/0"]
  from_port   = 22
}

resource "azurerm_managed_disk" "data" {
  name = "data"
  encryption_settings {
    enabled = false
  }
}
