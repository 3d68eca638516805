# Static marketing site, created years ago with the inline (pre-4.0 provider) arguments.
resource "aws_s3_bucket" "marketing_site" {
  bucket = "acme-marketing-site"
  acl    = "public-read"

  website {
    index_document = "index.html"
    error_document = "404.html"
  }

  tags = {
    team = "growth"
  }
}
