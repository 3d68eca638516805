# A tools VM set up by hand: serial console, IP forwarding for a VPN test, the default
# service account with every scope; and the hardened runner image's VM.
resource "google_compute_instance" "tools" {
  name           = "tools"
  machine_type   = "e2-medium"
  zone           = "europe-west1-b"
  can_ip_forward = true

  boot_disk {
    initialize_params {
      image = "debian-cloud/debian-12"
    }
  }

  network_interface {
    network = "default"
  }

  metadata = {
    serial-port-enable = "true"
  }

  service_account {
    scopes = ["cloud-platform"]
  }
}

resource "google_compute_instance" "ci_runner" {
  name         = "ci-runner"
  machine_type = "e2-standard-4"
  zone         = "europe-west1-b"

  boot_disk {
    initialize_params {
      image = "cos-cloud/cos-stable"
    }
  }

  network_interface {
    subnetwork = "projects/acme-prod/regions/europe-west1/subnetworks/ci"
  }

  metadata = {
    block-project-ssh-keys = "true"
  }

  shielded_instance_config {
    enable_secure_boot          = true
    enable_vtpm                 = true
    enable_integrity_monitoring = true
  }

  service_account {
    email  = "ci-runner@acme-prod.iam.gserviceaccount.com"
    scopes = ["cloud-platform"]
  }
}
