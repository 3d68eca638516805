# AKS: a cluster created with the defaults and RBAC off, nodes with public IPs; and the
# platform cluster: private, Azure network policy, monitoring, no local accounts.
resource "azurerm_kubernetes_cluster" "legacy" {
  name                              = "legacy"
  location                          = "westeurope"
  resource_group_name               = "rg-legacy"
  dns_prefix                        = "legacy"
  role_based_access_control_enabled = false

  default_node_pool {
    name                   = "default"
    node_count             = 2
    vm_size                = "Standard_D2s_v5"
    enable_node_public_ip  = true
  }

  identity {
    type = "SystemAssigned"
  }
}

resource "azurerm_kubernetes_cluster" "platform" {
  name                    = "platform"
  location                = "westeurope"
  resource_group_name     = "rg-platform"
  dns_prefix              = "platform"
  private_cluster_enabled = true
  local_account_disabled  = true

  default_node_pool {
    name       = "system"
    node_count = 3
    vm_size    = "Standard_D4s_v5"
  }

  network_profile {
    network_plugin = "azure"
    network_policy = "azure"
  }

  oms_agent {
    log_analytics_workspace_id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-ops/providers/Microsoft.OperationalInsights/workspaces/ops"
  }

  azure_active_directory_role_based_access_control {
    azure_rbac_enabled = true
  }

  identity {
    type = "SystemAssigned"
  }
}
