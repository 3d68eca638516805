# Raw zone of the data lake. Versioning was suspended to save costs and the public access
# block was loosened for a one-off share.
resource "aws_s3_bucket" "data_lake_raw" {
  bucket = "acme-data-lake-raw"
}

resource "aws_s3_bucket_server_side_encryption_configuration" "data_lake_raw" {
  bucket = aws_s3_bucket.data_lake_raw.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "aws:kms"
    }
  }
}

resource "aws_s3_bucket_versioning" "data_lake_raw" {
  bucket = aws_s3_bucket.data_lake_raw.id
  versioning_configuration {
    status = "Suspended"
  }
}

resource "aws_s3_bucket_public_access_block" "data_lake_raw" {
  bucket              = aws_s3_bucket.data_lake_raw.id
  block_public_acls   = true
  block_public_policy = false
  ignore_public_acls  = true
}
