# Account reached only through a private endpoint (public network access off).
resource "azurerm_storage_account" "backups" {
  name                            = "acmebackups"
  resource_group_name             = "rg-backups"
  location                        = "westeurope"
  account_tier                    = "Standard"
  account_replication_type        = "GRS"
  account_kind                    = "BlockBlobStorage"
  min_tls_version                 = "TLS1_2"
  allow_nested_items_to_be_public = false
  public_network_access_enabled   = false
}

resource "azurerm_storage_container" "backups_db" {
  name                  = "db"
  storage_account_name  = azurerm_storage_account.backups.name
  container_access_type = "container"
}
