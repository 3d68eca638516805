# The activity log profile kept for a month with writes only, and NSG flow logs kept a
# week for the app subnet and 90 days for the data subnet.
resource "azurerm_monitor_log_profile" "subscription" {
  name       = "default"
  categories = ["Write"]
  locations  = ["westeurope", "global"]

  retention_policy {
    enabled = true
    days    = 30
  }
}

resource "azurerm_network_watcher_flow_log" "apps" {
  name                      = "apps"
  network_watcher_name      = "NetworkWatcher_westeurope"
  resource_group_name       = "NetworkWatcherRG"
  network_security_group_id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-net/providers/Microsoft.Network/networkSecurityGroups/apps"
  storage_account_id        = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-ops/providers/Microsoft.Storage/storageAccounts/acmeflowlogs"
  enabled                   = true

  retention_policy {
    enabled = true
    days    = 7
  }
}

resource "azurerm_network_watcher_flow_log" "data" {
  name                      = "data"
  network_watcher_name      = "NetworkWatcher_westeurope"
  resource_group_name       = "NetworkWatcherRG"
  network_security_group_id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-net/providers/Microsoft.Network/networkSecurityGroups/data"
  storage_account_id        = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-ops/providers/Microsoft.Storage/storageAccounts/acmeflowlogs"
  enabled                   = true

  retention_policy {
    enabled = true
    days    = 90
  }
}
