# The activity log profile of the archive subscription: every category, kept a year.
resource "azurerm_monitor_log_profile" "archive" {
  name       = "archive"
  categories = ["Action", "Delete", "Write"]
  locations  = ["westeurope", "global"]

  retention_policy {
    enabled = true
    days    = 365
  }
}
