# Public download mirror that still serves objects through ACLs, so its public access block
# lets ACLs through.
resource "aws_s3_bucket" "download_mirror" {
  bucket = "acme-download-mirror"
}

resource "aws_s3_bucket_public_access_block" "download_mirror" {
  bucket                  = aws_s3_bucket.download_mirror.id
  block_public_acls       = false
  block_public_policy     = true
  ignore_public_acls      = false
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "download_mirror" {
  bucket = aws_s3_bucket.download_mirror.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "download_mirror" {
  bucket = aws_s3_bucket.download_mirror.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_logging" "download_mirror" {
  bucket        = aws_s3_bucket.download_mirror.id
  target_bucket = "acme-access-logs"
  target_prefix = "download-mirror/"
}
