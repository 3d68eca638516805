# Container registries, Cosmos DB and Redis: the first of each with the defaults (and the
# registry's admin user on, Redis's plain port open), the second locked down.
resource "azurerm_container_registry" "legacy" {
  name                = "acmelegacy"
  resource_group_name = "rg-legacy"
  location            = "westeurope"
  sku                 = "Standard"
  admin_enabled       = true
}

resource "azurerm_container_registry" "platform" {
  name                          = "acmeplatform"
  resource_group_name           = "rg-platform"
  location                      = "westeurope"
  sku                           = "Premium"
  admin_enabled                 = false
  public_network_access_enabled = false
}

resource "azurerm_cosmosdb_account" "catalog" {
  name                = "acme-catalog"
  location            = "westeurope"
  resource_group_name = "rg-data"
  offer_type          = "Standard"

  consistency_policy {
    consistency_level = "Session"
  }

  geo_location {
    location          = "westeurope"
    failover_priority = 0
  }
}

resource "azurerm_cosmosdb_account" "ledger" {
  name                          = "acme-ledger"
  location                      = "westeurope"
  resource_group_name           = "rg-data"
  offer_type                    = "Standard"
  public_network_access_enabled = false

  consistency_policy {
    consistency_level = "Strong"
  }

  geo_location {
    location          = "westeurope"
    failover_priority = 0
  }
}

resource "azurerm_redis_cache" "sessions" {
  name                = "acme-sessions"
  location            = "westeurope"
  resource_group_name = "rg-web"
  capacity            = 1
  family              = "C"
  sku_name            = "Standard"
  enable_non_ssl_port = true
}

resource "azurerm_redis_cache" "carts" {
  name                          = "acme-carts"
  location                      = "westeurope"
  resource_group_name           = "rg-web"
  capacity                      = 1
  family                        = "P"
  sku_name                      = "Premium"
  enable_non_ssl_port           = false
  minimum_tls_version           = "1.2"
  public_network_access_enabled = false
}
