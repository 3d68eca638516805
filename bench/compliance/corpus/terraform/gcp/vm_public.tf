# VM with an ephemeral external IP.
resource "google_compute_instance" "build_agent" {
  name         = "build-agent"
  machine_type = "e2-standard-4"
  zone         = "europe-west1-b"

  boot_disk {
    initialize_params {
      image = "debian-cloud/debian-12"
    }
  }

  network_interface {
    network = "default"
    access_config {}
  }
}
