# A MySQL instance for a content migration, with LOCAL INFILE turned on for the import.
resource "google_sql_database_instance" "cms_import" {
  name             = "cms-import"
  region           = "europe-west1"
  database_version = "MYSQL_8_0"

  settings {
    tier = "db-custom-2-7680"

    backup_configuration {
      enabled            = true
      binary_log_enabled = true
    }

    ip_configuration {
      ipv4_enabled    = false
      private_network = "projects/acme-prod/global/networks/main"
      ssl_mode        = "ENCRYPTED_ONLY"
    }

    database_flags {
      name  = "local_infile"
      value = "on"
    }
  }
}
