# Secrets written into Key Vault by Terraform: one literal, one generated.
resource "azurerm_key_vault_secret" "smtp_password" {
  name         = "smtp-password"
  value        = "Summer2024!Mailer"
  key_vault_id = "/subscriptions/0000/resourceGroups/rg-kv/providers/Microsoft.KeyVault/vaults/kv-acme-prod"
}

resource "random_password" "queue_key" {
  length = 40
}

resource "azurerm_key_vault_secret" "queue_key" {
  name         = "queue-key"
  value        = random_password.queue_key.result
  key_vault_id = "/subscriptions/0000/resourceGroups/rg-kv/providers/Microsoft.KeyVault/vaults/kv-acme-prod"
}
