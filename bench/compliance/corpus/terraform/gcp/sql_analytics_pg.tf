# The analytics PostgreSQL instance with backups and connection logging, and a MySQL
# instance with LOCAL INFILE turned off.
resource "google_sql_database_instance" "analytics_pg" {
  name             = "analytics-pg"
  region           = "europe-west1"
  database_version = "POSTGRES_15"

  settings {
    tier = "db-custom-2-7680"

    backup_configuration {
      enabled                        = true
      point_in_time_recovery_enabled = true
    }

    ip_configuration {
      ipv4_enabled    = false
      private_network = "projects/acme-prod/global/networks/main"
      ssl_mode        = "ENCRYPTED_ONLY"
    }

    database_flags {
      name  = "log_connections"
      value = "on"
    }

    database_flags {
      name  = "log_disconnections"
      value = "on"
    }

    database_flags {
      name  = "log_checkpoints"
      value = "on"
    }

    database_flags {
      name  = "log_lock_waits"
      value = "on"
    }
  }
}

resource "google_sql_database_instance" "cms_mysql" {
  name             = "cms-mysql"
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
      value = "off"
    }
  }
}
