# A module that keeps the bucket and its configuration in separate files, as many
# registry modules do.
resource "aws_s3_bucket" "exports" {
  bucket = "acme-exports"
}
