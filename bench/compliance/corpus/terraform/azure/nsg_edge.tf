# Edge NSG rules: DNS over UDP and plain HTTP opened to the internet.
resource "azurerm_network_security_rule" "edge_dns" {
  name                        = "dns"
  priority                    = 200
  direction                   = "Inbound"
  access                      = "Allow"
  protocol                    = "Udp"
  source_port_range           = "*"
  destination_port_range      = "53"
  source_address_prefix       = "*"
  destination_address_prefix  = "*"
  resource_group_name         = "rg-edge"
  network_security_group_name = "edge"
}

resource "azurerm_network_security_rule" "edge_http" {
  name                        = "http"
  priority                    = 210
  direction                   = "Inbound"
  access                      = "Allow"
  protocol                    = "Tcp"
  source_port_range           = "*"
  destination_port_range      = "80"
  source_address_prefix       = "Internet"
  destination_address_prefix  = "*"
  resource_group_name         = "rg-edge"
  network_security_group_name = "edge"
}
