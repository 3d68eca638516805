# Legacy bucket shared with an ACL entry instead of IAM.
resource "google_storage_bucket" "legacy_downloads" {
  name                     = "acme-legacy-downloads"
  location                 = "US"
  public_access_prevention = "enforced"

  versioning {
    enabled = true
  }
}

resource "google_storage_bucket_access_control" "legacy_downloads_public" {
  bucket = google_storage_bucket.legacy_downloads.name
  role   = "READER"
  entity = "allUsers"
}
