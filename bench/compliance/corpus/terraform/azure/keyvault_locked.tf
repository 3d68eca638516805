# The payments vault: firewall closed by default, purge protection; a secret with an expiry.
resource "azurerm_key_vault" "payments" {
  name                     = "acme-payments"
  location                 = "westeurope"
  resource_group_name      = "rg-payments"
  tenant_id                = "00000000-0000-0000-0000-000000000000"
  sku_name                 = "premium"
  purge_protection_enabled = true

  network_acls {
    default_action = "Deny"
    bypass         = "AzureServices"
    ip_rules       = ["203.0.113.0/24"]
  }
}

resource "azurerm_key_vault_secret" "payments_api_url" {
  name            = "payments-api-url"
  value           = "https://payments.acme.example/api"
  key_vault_id    = azurerm_key_vault.payments.id
  content_type    = "url"
  expiration_date = "2027-06-30T00:00:00Z"
}
