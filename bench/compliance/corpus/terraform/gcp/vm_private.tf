# Private VM and instance template: no external IP, egress through Cloud NAT.
resource "google_compute_instance" "app_server" {
  name         = "app-server"
  machine_type = "e2-standard-2"
  zone         = "europe-west1-b"

  boot_disk {
    initialize_params {
      image = "debian-cloud/debian-12"
    }
  }

  network_interface {
    subnetwork = "app-subnet"
  }

  shielded_instance_config {
    enable_secure_boot = true
  }
}

resource "google_compute_instance_template" "workers" {
  name_prefix  = "workers-"
  machine_type = "e2-standard-2"

  disk {
    source_image = "debian-cloud/debian-12"
  }

  network_interface {
    subnetwork = "app-subnet"
  }
}
