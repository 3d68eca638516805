# Key Vault and keys of the platform team.
resource "azurerm_key_vault" "platform" {
  name                       = "kv-acme-platform"
  location                   = "westeurope"
  resource_group_name        = "rg-platform"
  tenant_id                  = "00000000-0000-0000-0000-000000000000"
  sku_name                   = "premium"
  soft_delete_retention_days = 90
  purge_protection_enabled   = true
}

resource "azurerm_key_vault_key" "disk_encryption" {
  name            = "disk-encryption"
  key_vault_id    = azurerm_key_vault.platform.id
  key_type        = "RSA-HSM"
  key_size        = 3072
  key_opts        = ["wrapKey", "unwrapKey"]
  expiration_date = "2027-06-30T00:00:00Z"

  rotation_policy {
    automatic {
      time_before_expiry = "P30D"
    }
    expire_after         = "P365D"
    notify_before_expiry = "P29D"
  }
}

resource "azurerm_key_vault_key" "app_signing" {
  name         = "app-signing"
  key_vault_id = azurerm_key_vault.platform.id
  key_type     = "EC"
  curve        = "P-256"
  key_opts     = ["sign", "verify"]
}

resource "azurerm_key_vault_key" "storage_cmk" {
  name         = "storage-cmk"
  key_vault_id = azurerm_key_vault.platform.id
  key_type     = "RSA"
  key_size     = 2048
  key_opts     = ["wrapKey", "unwrapKey"]

  rotation_policy {
    automatic {
      time_after_creation = "P90D"
    }
    expire_after = "P180D"
  }
}
