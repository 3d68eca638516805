# SQL servers: reporting audits to storage for a month; the archive server has no
# auditing and still accepts TLS 1.0.
resource "azurerm_mssql_server" "reporting" {
  name                          = "acme-reporting"
  resource_group_name           = "rg-data"
  location                      = "westeurope"
  version                       = "12.0"
  minimum_tls_version           = "1.2"
  public_network_access_enabled = false

  azuread_administrator {
    login_username              = "sql-admins"
    object_id                   = "11111111-2222-3333-4444-555555555555"
    azuread_authentication_only = true
  }
}

resource "azurerm_mssql_server_extended_auditing_policy" "reporting" {
  server_id              = azurerm_mssql_server.reporting.id
  storage_endpoint       = "https://acmeaudit.blob.core.windows.net/"
  retention_in_days      = 30
  log_monitoring_enabled = true
}

resource "azurerm_mssql_server" "archive" {
  name                          = "acme-archive"
  resource_group_name           = "rg-data"
  location                      = "westeurope"
  version                       = "12.0"
  minimum_tls_version           = "1.0"
  public_network_access_enabled = false

  azuread_administrator {
    login_username              = "sql-admins"
    object_id                   = "11111111-2222-3333-4444-555555555555"
    azuread_authentication_only = true
  }
}

resource "azurerm_mssql_server" "ledger" {
  name                          = "acme-ledger"
  resource_group_name           = "rg-data"
  location                      = "westeurope"
  version                       = "12.0"
  minimum_tls_version           = "1.2"
  public_network_access_enabled = false

  azuread_administrator {
    login_username              = "sql-admins"
    object_id                   = "11111111-2222-3333-4444-555555555555"
    azuread_authentication_only = true
  }
}

resource "azurerm_mssql_server_extended_auditing_policy" "ledger" {
  server_id              = azurerm_mssql_server.ledger.id
  storage_endpoint       = "https://acmeaudit.blob.core.windows.net/"
  retention_in_days      = 365
  log_monitoring_enabled = true
}
