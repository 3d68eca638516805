# Network appliance with two NICs: the second (outside) NIC has a public IP.
resource "google_compute_instance" "vpn_gateway" {
  name           = "vpn-gateway"
  machine_type   = "e2-standard-2"
  zone           = "europe-west1-b"
  can_ip_forward = true

  boot_disk {
    initialize_params {
      image = "debian-cloud/debian-12"
    }
  }

  network_interface {
    subnetwork = "inside-subnet"
  }

  network_interface {
    subnetwork = "outside-subnet"
    access_config {
      nat_ip = "203.0.113.10"
    }
  }
}
