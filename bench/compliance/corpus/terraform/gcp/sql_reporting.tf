# Reporting database opened to the world for a BI tool, TLS not required.
resource "google_sql_database_instance" "reporting" {
  name             = "reporting"
  database_version = "POSTGRES_15"
  region           = "europe-west1"

  settings {
    tier = "db-custom-2-7680"

    ip_configuration {
      ipv4_enabled = true

      authorized_networks {
        name  = "office"
        value = "198.51.100.0/24"
      }

      authorized_networks {
        name  = "bi-tool"
        value = "0.0.0.0/0"
      }
    }
  }
}
