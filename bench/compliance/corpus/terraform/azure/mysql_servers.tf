# MySQL: a single server left on defaults, a flexible server injected in a subnet, and a
# flexible server on its public endpoint.
resource "azurerm_mysql_server" "cms" {
  name                = "mysql-acme-cms"
  location            = "westeurope"
  resource_group_name = "rg-cms"
  sku_name            = "GP_Gen5_2"
  version             = "8.0"
  storage_mb          = 51200

  administrator_login          = "cms"
  administrator_login_password = "change-me-in-key-vault"
}

resource "azurerm_mysql_flexible_server" "shop" {
  name                   = "mysql-acme-shop"
  location               = "westeurope"
  resource_group_name    = "rg-shop"
  sku_name               = "GP_Standard_D2ds_v4"
  version                = "8.0.21"
  administrator_login    = "shop"
  administrator_password = "change-me-in-key-vault"
  delegated_subnet_id    = "/subscriptions/0000/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/mysql"
  private_dns_zone_id    = "/subscriptions/0000/resourceGroups/rg-net/providers/Microsoft.Network/privateDnsZones/shop.mysql.database.azure.com"
}

resource "azurerm_mysql_flexible_server" "forum" {
  name                   = "mysql-acme-forum"
  location               = "westeurope"
  resource_group_name    = "rg-forum"
  sku_name               = "B_Standard_B1ms"
  version                = "8.0.21"
  administrator_login    = "forum"
  administrator_password = "change-me-in-key-vault"
}
