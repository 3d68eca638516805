# Admin access to the VPC: SSH and RDP from anywhere.
resource "google_compute_firewall" "allow_ssh" {
  name          = "allow-ssh"
  network       = "prod-vpc"
  direction     = "INGRESS"
  source_ranges = ["0.0.0.0/0"]

  allow {
    protocol = "tcp"
    ports    = ["22"]
  }
}

resource "google_compute_firewall" "allow_rdp" {
  name          = "allow-rdp"
  network       = "prod-vpc"
  source_ranges = ["0.0.0.0/0"]

  allow {
    protocol = "tcp"
    ports    = ["3389", "5985-5986"]
  }
}
