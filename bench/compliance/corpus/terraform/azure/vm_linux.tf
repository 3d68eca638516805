# Linux VMs: a jump host still accepting passwords, a legacy azurerm_virtual_machine
# likewise, and the build agent with SSH keys only.
resource "azurerm_linux_virtual_machine" "jump" {
  name                            = "jump"
  resource_group_name             = "rg-ops"
  location                        = "westeurope"
  size                            = "Standard_B2s"
  admin_username                  = "ops"
  admin_password                  = var.jump_password
  disable_password_authentication = false
  network_interface_ids           = ["/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-ops/providers/Microsoft.Network/networkInterfaces/jump"]

  os_disk {
    caching              = "ReadWrite"
    storage_account_type = "Premium_LRS"
  }

  source_image_reference {
    publisher = "Canonical"
    offer     = "ubuntu-24_04-lts"
    sku       = "server"
    version   = "latest"
  }
}

resource "azurerm_virtual_machine" "legacy_reports" {
  name                  = "legacy-reports"
  location              = "westeurope"
  resource_group_name   = "rg-legacy"
  vm_size               = "Standard_B2s"
  network_interface_ids = ["/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-legacy/providers/Microsoft.Network/networkInterfaces/reports"]

  storage_os_disk {
    name          = "reports-os"
    create_option = "FromImage"
  }

  os_profile {
    computer_name  = "reports"
    admin_username = "ops"
    admin_password = var.jump_password
  }

  os_profile_linux_config {
    disable_password_authentication = false
  }
}

resource "azurerm_linux_virtual_machine" "build_agent" {
  name                  = "build-agent"
  resource_group_name   = "rg-ci"
  location              = "westeurope"
  size                  = "Standard_D4s_v5"
  admin_username        = "ci"
  network_interface_ids = ["/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-ci/providers/Microsoft.Network/networkInterfaces/build"]

  admin_ssh_key {
    username   = "ci"
    public_key = file("${path.module}/keys/ci.pub")
  }

  os_disk {
    caching              = "ReadWrite"
    storage_account_type = "Premium_LRS"
  }

  source_image_reference {
    publisher = "Canonical"
    offer     = "ubuntu-24_04-lts"
    sku       = "server"
    version   = "latest"
  }
}

variable "jump_password" {
  type      = string
  sensitive = true
}
