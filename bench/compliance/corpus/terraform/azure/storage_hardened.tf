# Storage account following the baseline.
resource "azurerm_user_assigned_identity" "documents" {
  name                = "id-documents"
  resource_group_name = "rg-documents"
  location            = "westeurope"
}

resource "azurerm_storage_account" "documents" {
  name                            = "acmedocuments"
  resource_group_name             = "rg-documents"
  location                        = "westeurope"
  account_tier                    = "Standard"
  account_replication_type        = "GRS"
  account_kind                    = "StorageV2"
  https_traffic_only_enabled      = true
  min_tls_version                 = "TLS1_2"
  allow_nested_items_to_be_public = false
  shared_access_key_enabled       = false

  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.documents.id]
  }

  customer_managed_key {
    key_vault_key_id          = "https://kv-acme-prod.vault.azure.net/keys/storage/0123456789abcdef"
    user_assigned_identity_id = azurerm_user_assigned_identity.documents.id
  }

  network_rules {
    default_action             = "Deny"
    bypass                     = ["AzureServices"]
    virtual_network_subnet_ids = ["/subscriptions/0000/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/app"]
  }

  queue_properties {
    logging {
      delete                = true
      read                  = true
      write                 = true
      version               = "1.0"
      retention_policy_days = 90
    }
  }
}

resource "azurerm_storage_container" "documents_contracts" {
  name                  = "contracts"
  storage_account_name  = azurerm_storage_account.documents.name
  container_access_type = "private"
}
