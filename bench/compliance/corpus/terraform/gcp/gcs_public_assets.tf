# Public assets bucket: fine-grained ACLs, readable by allUsers through IAM.
resource "google_storage_bucket" "public_assets" {
  name     = "acme-public-assets"
  location = "EU"

  website {
    main_page_suffix = "index.html"
  }
}

resource "google_storage_bucket_iam_member" "public_assets_viewer" {
  bucket = google_storage_bucket.public_assets.name
  role   = "roles/storage.objectViewer"
  member = "allUsers"
}
