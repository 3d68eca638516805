# CI artifacts, written with the legacy inline blocks of aws_s3_bucket; fully configured.
resource "aws_s3_bucket" "build_artifacts" {
  bucket = "acme-build-artifacts"
  acl    = "private"

  versioning {
    enabled = true
  }

  logging {
    target_bucket = "acme-access-logs"
    target_prefix = "build-artifacts/"
  }

  server_side_encryption_configuration {
    rule {
      apply_server_side_encryption_by_default {
        sse_algorithm = "AES256"
      }
    }
  }
}

resource "aws_s3_bucket_public_access_block" "build_artifacts" {
  bucket                  = aws_s3_bucket.build_artifacts.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}
