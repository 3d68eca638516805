# Drop zone where partners upload files with pre-shared credentials... and an ACL that
# lets anyone write.
resource "aws_s3_bucket" "partner_uploads" {
  bucket = "acme-partner-uploads"
}

resource "aws_s3_bucket_ownership_controls" "partner_uploads" {
  bucket = aws_s3_bucket.partner_uploads.id
  rule {
    object_ownership = "BucketOwnerPreferred"
  }
}

resource "aws_s3_bucket_acl" "partner_uploads" {
  depends_on = [aws_s3_bucket_ownership_controls.partner_uploads]
  bucket     = aws_s3_bucket.partner_uploads.id
  acl        = "public-read-write"
}

resource "aws_s3_bucket_server_side_encryption_configuration" "partner_uploads" {
  bucket = aws_s3_bucket.partner_uploads.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}
