# A statistics dataset shared with every Google account, and the finance dataset.
resource "google_bigquery_dataset" "public_stats" {
  dataset_id = "public_stats"
  location   = "EU"

  access {
    role          = "OWNER"
    user_by_email = "analytics@acme-prod.iam.gserviceaccount.com"
  }

  access {
    role          = "READER"
    special_group = "allAuthenticatedUsers"
  }
}

resource "google_bigquery_dataset" "finance" {
  dataset_id = "finance"
  location   = "EU"

  access {
    role           = "READER"
    group_by_email = "finance@acme.example"
  }
}
