# No source_ranges and no source tags: GCP applies the rule to 0.0.0.0/0.
resource "google_compute_firewall" "legacy_ssh" {
  name    = "legacy-ssh"
  network = "legacy-vpc"

  allow {
    protocol = "tcp"
    ports    = ["22"]
  }
}

resource "google_compute_firewall" "internal_ssh" {
  name        = "internal-ssh"
  network     = "legacy-vpc"
  source_tags = ["bastion"]

  allow {
    protocol = "tcp"
    ports    = ["22"]
  }
}
