# MySQL single server behind a private endpoint, TLS enforced, password passed in.
variable "wiki_db_password" {
  type      = string
  sensitive = true
}

resource "azurerm_mysql_server" "wiki" {
  name                = "mysql-acme-wiki"
  location            = "westeurope"
  resource_group_name = "rg-wiki"
  sku_name            = "GP_Gen5_2"
  version             = "8.0"
  storage_mb          = 20480

  administrator_login          = "wiki"
  administrator_login_password = var.wiki_db_password

  ssl_enforcement_enabled          = true
  ssl_minimal_tls_version_enforced = "TLS1_2"
  public_network_access_enabled    = false
}
