# Lab NSG that allows every inbound port from anywhere.
resource "azurerm_network_security_group" "lab" {
  name                = "nsg-lab"
  location            = "westeurope"
  resource_group_name = "rg-lab"

  security_rule {
    name                       = "allow-all"
    priority                   = 100
    direction                  = "Inbound"
    access                     = "Allow"
    protocol                   = "*"
    source_port_range          = "*"
    destination_port_range     = "*"
    source_address_prefix      = "*"
    destination_address_prefix = "*"
  }
}
