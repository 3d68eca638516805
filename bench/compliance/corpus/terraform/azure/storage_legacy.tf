# Storage account created before the platform baseline: HTTP allowed, TLS 1.0, public blobs,
# open network, no queue logging, Microsoft-managed keys.
resource "azurerm_storage_account" "legacy" {
  name                      = "acmelegacy"
  resource_group_name       = "rg-legacy"
  location                  = "westeurope"
  account_tier              = "Standard"
  account_replication_type  = "LRS"
  enable_https_traffic_only = false
  min_tls_version           = "TLS1_0"
  allow_blob_public_access  = true

  network_rules {
    default_action = "Allow"
  }
}

resource "azurerm_storage_container" "legacy_media" {
  name                  = "media"
  storage_account_name  = azurerm_storage_account.legacy.name
  container_access_type = "blob"
}
