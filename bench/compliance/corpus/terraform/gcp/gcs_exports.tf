# Exports bucket: uniform access on, but versioning explicitly off and prevention inherited.
resource "google_storage_bucket" "exports" {
  name                        = "acme-exports"
  location                    = "US"
  uniform_bucket_level_access = true
  public_access_prevention    = "inherited"

  versioning {
    enabled = false
  }

  logging {
    log_bucket = "acme-gcs-access-logs"
  }
}

resource "google_storage_bucket_iam_binding" "exports_public" {
  bucket  = google_storage_bucket.exports.name
  role    = "roles/storage.objectViewer"
  members = ["allAuthenticatedUsers"]
}
