# Azure SQL servers.
resource "azurerm_mssql_server" "erp" {
  name                         = "sql-acme-erp"
  resource_group_name          = "rg-erp"
  location                     = "westeurope"
  version                      = "12.0"
  administrator_login          = "erpadmin"
  administrator_login_password = "change-me-in-key-vault"
  minimum_tls_version          = "1.2"
}

resource "azurerm_mssql_server" "hr" {
  name                          = "sql-acme-hr"
  resource_group_name           = "rg-hr"
  location                      = "westeurope"
  version                       = "12.0"
  minimum_tls_version           = "1.2"
  public_network_access_enabled = false

  azuread_administrator {
    login_username              = "sql-admins"
    object_id                   = "00000000-0000-0000-0000-000000000000"
    azuread_authentication_only = true
  }
}
