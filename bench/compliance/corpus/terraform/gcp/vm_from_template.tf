# Instances stamped from a template; the canary overrides the NIC and adds an external IP.
resource "google_compute_instance_from_template" "canary" {
  name                     = "workers-canary"
  zone                     = "europe-west1-c"
  source_instance_template = "projects/acme-prod/global/instanceTemplates/workers-v12"

  network_interface {
    subnetwork = "app-subnet"
    access_config {}
  }
}
