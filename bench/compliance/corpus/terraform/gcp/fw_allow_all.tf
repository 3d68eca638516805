# Firewall rules that open everything.
resource "google_compute_firewall" "allow_all_ingress" {
  name          = "allow-all-ingress"
  network       = "sandbox-vpc"
  source_ranges = ["0.0.0.0/0"]

  allow {
    protocol = "all"
  }
}

resource "google_compute_firewall" "allow_all_tcp" {
  name          = "allow-all-tcp"
  network       = "sandbox-vpc"
  source_ranges = ["0.0.0.0/0"]

  allow {
    protocol = "tcp"
  }
}

resource "google_compute_firewall" "allow_tcp_range" {
  name          = "allow-tcp-range"
  network       = "sandbox-vpc"
  source_ranges = ["0.0.0.0/0"]

  allow {
    protocol = "tcp"
    ports    = ["0-65535"]
  }
}
