# Training data: locked down, versioned, logged, CMEK.
resource "google_storage_bucket" "ml_datasets" {
  name                        = "acme-ml-datasets"
  location                    = "EUROPE-WEST4"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"

  versioning {
    enabled = true
  }

  logging {
    log_bucket = "acme-gcs-access-logs"
  }

  encryption {
    default_kms_key_name = "projects/acme-ml/locations/europe-west4/keyRings/data/cryptoKeys/datasets"
  }

  lifecycle_rule {
    condition {
      num_newer_versions = 5
    }
    action {
      type = "Delete"
    }
  }
}

resource "google_storage_bucket_iam_binding" "ml_datasets_readers" {
  bucket  = google_storage_bucket.ml_datasets.name
  role    = "roles/storage.objectViewer"
  members = ["group:ml-team@acme.example", "serviceAccount:trainer@acme-ml.iam.gserviceaccount.com"]
}
