# Cloud KMS keys for the data platform.
resource "google_kms_key_ring" "platform" {
  name     = "platform"
  location = "europe-west1"
}

resource "google_kms_crypto_key" "warehouse" {
  name            = "warehouse"
  key_ring        = google_kms_key_ring.platform.id
  rotation_period = "7776000s"
}

resource "google_kms_crypto_key" "archive" {
  name            = "archive"
  key_ring        = google_kms_key_ring.platform.id
  rotation_period = "31536000s"
}

resource "google_kms_crypto_key" "pipeline" {
  name     = "pipeline"
  key_ring = google_kms_key_ring.platform.id
}

resource "google_kms_crypto_key" "release_signing" {
  name     = "release-signing"
  key_ring = google_kms_key_ring.platform.id
  purpose  = "ASYMMETRIC_SIGN"

  version_template {
    algorithm = "EC_SIGN_P256_SHA256"
  }
}
