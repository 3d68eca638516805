# PostgreSQL single servers (the older service).
resource "azurerm_postgresql_server" "catalog" {
  name                = "psql-acme-catalog"
  location            = "westeurope"
  resource_group_name = "rg-catalog"
  sku_name            = "GP_Gen5_2"
  version             = "11"
  storage_mb          = 51200

  administrator_login          = "catalog"
  administrator_login_password = "change-me-in-key-vault"

  ssl_enforcement_enabled       = false
  public_network_access_enabled = true
}

resource "azurerm_postgresql_server" "ledger" {
  name                = "psql-acme-ledger"
  location            = "westeurope"
  resource_group_name = "rg-ledger"
  sku_name            = "GP_Gen5_4"
  version             = "11"
  storage_mb          = 102400

  administrator_login          = "ledger"
  administrator_login_password = "change-me-in-key-vault"

  ssl_enforcement_enabled          = true
  ssl_minimal_tls_version_enforced = "TLS1_2"
  public_network_access_enabled    = false
}
