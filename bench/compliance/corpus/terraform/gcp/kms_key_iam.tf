# Who may use the signing keys: a test grant to everyone left behind, and the app's own.
resource "google_kms_crypto_key_iam_member" "public_verify" {
  crypto_key_id = "projects/acme-prod/locations/europe/keyRings/app/cryptoKeys/signing"
  role          = "roles/cloudkms.cryptoKeyDecrypter"
  member        = "allUsers"
}

resource "google_kms_crypto_key_iam_member" "app_decrypt" {
  crypto_key_id = "projects/acme-prod/locations/europe/keyRings/app/cryptoKeys/data"
  role          = "roles/cloudkms.cryptoKeyDecrypter"
  member        = "serviceAccount:app@acme-prod.iam.gserviceaccount.com"
}
