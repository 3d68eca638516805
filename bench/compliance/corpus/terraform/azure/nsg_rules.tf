# Separate NSG rule resources for the Windows farm.
resource "azurerm_network_security_group" "windows_farm" {
  name                = "nsg-windows-farm"
  location            = "westeurope"
  resource_group_name = "rg-windows"
}

resource "azurerm_network_security_rule" "windows_rdp" {
  name                        = "rdp"
  priority                    = 100
  direction                   = "Inbound"
  access                      = "Allow"
  protocol                    = "Tcp"
  source_port_range           = "*"
  destination_port_ranges     = ["3389", "5985-5986"]
  source_address_prefix       = "Internet"
  destination_address_prefix  = "*"
  resource_group_name         = "rg-windows"
  network_security_group_name = azurerm_network_security_group.windows_farm.name
}

resource "azurerm_network_security_rule" "windows_ssh_vpn" {
  name                        = "ssh-vpn"
  priority                    = 110
  direction                   = "Inbound"
  access                      = "Allow"
  protocol                    = "Tcp"
  source_port_range           = "*"
  destination_port_range      = "22"
  source_address_prefixes     = ["10.50.0.0/16", "10.60.0.0/16"]
  destination_address_prefix  = "*"
  resource_group_name         = "rg-windows"
  network_security_group_name = azurerm_network_security_group.windows_farm.name
}

resource "azurerm_network_security_rule" "windows_deny_ssh" {
  name                        = "deny-ssh-internet"
  priority                    = 4000
  direction                   = "Inbound"
  access                      = "Deny"
  protocol                    = "Tcp"
  source_port_range           = "*"
  destination_port_range      = "22"
  source_address_prefix       = "*"
  destination_address_prefix  = "*"
  resource_group_name         = "rg-windows"
  network_security_group_name = azurerm_network_security_group.windows_farm.name
}
