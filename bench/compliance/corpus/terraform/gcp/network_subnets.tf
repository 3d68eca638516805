# An application subnet without flow logs or Private Google Access, and the data subnet.
resource "google_compute_subnetwork" "apps" {
  name          = "apps"
  region        = "europe-west1"
  network       = "projects/acme-prod/global/networks/main"
  ip_cidr_range = "10.30.0.0/20"
}

resource "google_compute_subnetwork" "data" {
  name                     = "data"
  region                   = "europe-west1"
  network                  = "projects/acme-prod/global/networks/main"
  ip_cidr_range            = "10.30.16.0/20"
  private_ip_google_access = true

  log_config {
    aggregation_interval = "INTERVAL_5_SEC"
    flow_sampling        = 0.5
    metadata             = "INCLUDE_ALL_METADATA"
  }
}
