# Account written for azurerm 4.x: new attribute names, network rules and queue logging in
# their own resources, TLS left at the provider default (TLS1_2).
resource "azurerm_storage_account" "telemetry" {
  name                            = "acmetelemetry"
  resource_group_name             = "rg-telemetry"
  location                        = "northeurope"
  account_tier                    = "Standard"
  account_replication_type        = "ZRS"
  https_traffic_only_enabled      = false
  allow_nested_items_to_be_public = false
}

resource "azurerm_storage_account_network_rules" "telemetry" {
  storage_account_id = azurerm_storage_account.telemetry.id
  default_action     = "Allow"
  bypass             = ["AzureServices"]
}

resource "azurerm_storage_account_queue_properties" "telemetry" {
  storage_account_id = azurerm_storage_account.telemetry.id

  logging {
    delete                = true
    read                  = true
    write                 = true
    version               = "1.0"
    retention_policy_days = 30
  }
}

resource "azurerm_storage_account_customer_managed_key" "telemetry" {
  storage_account_id = azurerm_storage_account.telemetry.id
  key_vault_id       = "/subscriptions/0000/resourceGroups/rg-kv/providers/Microsoft.KeyVault/vaults/kv-acme-prod"
  key_name           = "telemetry"
}
