# Web and function apps: a storefront left with plain HTTP, TLS 1.0, FTP and remote
# debugging; the customer portal after review; two function apps.
resource "azurerm_linux_web_app" "storefront" {
  name                = "acme-storefront"
  location            = "westeurope"
  resource_group_name = "rg-web"
  service_plan_id     = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-web/providers/Microsoft.Web/serverFarms/web"

  site_config {
    minimum_tls_version      = "1.0"
    ftps_state               = "AllAllowed"
    remote_debugging_enabled = true
  }
}

resource "azurerm_linux_web_app" "portal" {
  name                = "acme-portal"
  location            = "westeurope"
  resource_group_name = "rg-web"
  service_plan_id     = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-web/providers/Microsoft.Web/serverFarms/web"
  https_only          = true

  site_config {
    minimum_tls_version = "1.2"
    ftps_state          = "Disabled"
  }
}

resource "azurerm_linux_function_app" "invoice_jobs" {
  name                       = "acme-invoice-jobs"
  location                   = "westeurope"
  resource_group_name        = "rg-jobs"
  service_plan_id            = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-jobs/providers/Microsoft.Web/serverFarms/jobs"
  storage_account_name       = "acmejobs"
  storage_account_access_key = var.jobs_storage_key

  site_config {
    minimum_tls_version = "1.1"
  }
}

resource "azurerm_linux_function_app" "report_jobs" {
  name                       = "acme-report-jobs"
  location                   = "westeurope"
  resource_group_name        = "rg-jobs"
  service_plan_id            = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-jobs/providers/Microsoft.Web/serverFarms/jobs"
  storage_account_name       = "acmejobs"
  storage_account_access_key = var.jobs_storage_key
  https_only                 = true

  site_config {
    minimum_tls_version = "1.2"
  }
}

variable "jobs_storage_key" {
  type      = string
  sensitive = true
}
