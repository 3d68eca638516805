# Developer sandbox vault without purge protection.
resource "azurerm_key_vault" "sandbox" {
  name                = "kv-acme-sandbox"
  location            = "westeurope"
  resource_group_name = "rg-sandbox"
  tenant_id           = "00000000-0000-0000-0000-000000000000"
  sku_name            = "standard"
}
