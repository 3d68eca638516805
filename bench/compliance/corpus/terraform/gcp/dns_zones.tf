# Public zones: the marketing domain without DNSSEC, a zone still signing with RSASHA1,
# and the main zone signed with modern algorithms.
resource "google_dns_managed_zone" "marketing" {
  name     = "marketing"
  dns_name = "acme-offers.example."
}

resource "google_dns_managed_zone" "legacy_brand" {
  name     = "legacy-brand"
  dns_name = "acme-legacy.example."

  dnssec_config {
    state = "on"

    default_key_specs {
      algorithm  = "rsasha1"
      key_length = 2048
      key_type   = "keySigning"
    }

    default_key_specs {
      algorithm  = "rsasha1"
      key_length = 1024
      key_type   = "zoneSigning"
    }
  }
}

resource "google_dns_managed_zone" "main" {
  name     = "main"
  dns_name = "acme.example."

  dnssec_config {
    state = "on"

    default_key_specs {
      algorithm  = "ecdsap256sha256"
      key_length = 256
      key_type   = "keySigning"
    }

    default_key_specs {
      algorithm  = "ecdsap256sha256"
      key_length = 256
      key_type   = "zoneSigning"
    }
  }
}
