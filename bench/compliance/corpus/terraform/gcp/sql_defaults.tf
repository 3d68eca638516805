# Databases that leave the network settings to the provider defaults or only require
# encrypted connections.
resource "google_sql_database_instance" "wiki" {
  name             = "wiki"
  database_version = "MYSQL_8_0"
  region           = "europe-west1"

  settings {
    tier = "db-f1-micro"
  }
}

resource "google_sql_database_instance" "crm" {
  name             = "crm"
  database_version = "POSTGRES_15"
  region           = "europe-west1"

  settings {
    tier = "db-custom-2-7680"

    ip_configuration {
      ipv4_enabled    = false
      private_network = "projects/acme-prod/global/networks/prod-vpc"
      ssl_mode        = "ENCRYPTED_ONLY"
    }
  }
}
