# App Service and Function Apps: HTTPS only, TLS version, FTP and remote debugging.
package builtin.azure

import rego.v1

web_app_types := ["azurerm_app_service", "azurerm_linux_web_app", "azurerm_windows_web_app"]

function_app_types := ["azurerm_function_app", "azurerm_linux_function_app", "azurerm_windows_function_app"]

apps contains [type, name, body] if {
	some type in array.concat(web_app_types, function_app_types)
	some [name, body] in resources(type)
}

app_finding(meta, checkov, type, name, msg) := finding(object.union(meta, {"checkov": checkov}), addr(type, name), sprintf("%s.%s %s", [type, name, msg]))

site_config(app) := first(app, "site_config")

# ---------------------------------------------------------------------------------------
# STRATA-AZ-025: plain HTTP served.

app_https_only := {
	"id": "STRATA-AZ-025",
	"severity": "high",
	"title": "App Service accepts plain HTTP",
	"remediation": "Set https_only = true, so HTTP requests are redirected to HTTPS.",
	"checkov_ids": ["CKV_AZURE_14", "CKV_AZURE_70"],
}

deny_app_https_only contains f if {
	some [type, name, app] in apps
	flag(app, ["https_only"], false) == "off"
	checkov := {true: "CKV_AZURE_70", false: "CKV_AZURE_14"}[type in function_app_types]
	f := app_finding(app_https_only, checkov, type, name, "does not set https_only = true")
}

# ---------------------------------------------------------------------------------------
# STRATA-AZ-026: TLS 1.0 or 1.1 accepted.

app_min_tls := {
	"id": "STRATA-AZ-026",
	"severity": "medium",
	"title": "App Service accepts TLS older than 1.2",
	"remediation": "Set site_config.minimum_tls_version = \"1.2\" (min_tls_version on azurerm 2.x) or later.",
	"checkov_ids": ["CKV_AZURE_15", "CKV_AZURE_145"],
}

min_tls(app) := v if {
	some key in ["minimum_tls_version", "min_tls_version"]
	v := site_config(app)[key]
}

deny_app_min_tls contains f if {
	some [type, name, app] in apps
	version := sprintf("%v", [min_tls(app)])
	version in {"1.0", "1.1", "1"}
	checkov := {true: "CKV_AZURE_145", false: "CKV_AZURE_15"}[type in function_app_types]
	f := app_finding(app_min_tls, checkov, type, name, sprintf("accepts TLS %s", [version]))
}

# ---------------------------------------------------------------------------------------
# STRATA-AZ-027: deployments over plain FTP.

app_ftps := {
	"id": "STRATA-AZ-027",
	"severity": "medium",
	"title": "App Service allows plain FTP",
	"remediation": "Set site_config.ftps_state = \"Disabled\" (or \"FtpsOnly\").",
	"checkov": "CKV_AZURE_78",
}

# azurerm_app_service (2.x) defaults to AllAllowed; the newer web app resources to Disabled.
ftps_state(type, app) := object.get(site_config(app), "ftps_state", {true: "AllAllowed", false: "Disabled"}[type == "azurerm_app_service"])

deny_app_ftps contains f if {
	some type in web_app_types
	some [name, app] in resources(type)
	ftps_state(type, app) == "AllAllowed"
	f := app_finding(app_ftps, "CKV_AZURE_78", type, name, "allows plain FTP (ftps_state = \"AllAllowed\")")
}

# ---------------------------------------------------------------------------------------
# STRATA-AZ-028: remote debugging on.

app_remote_debugging := {
	"id": "STRATA-AZ-028",
	"severity": "medium",
	"title": "App Service with remote debugging enabled",
	"remediation": "Set site_config.remote_debugging_enabled = false (remote_debugging on azurerm_app_service).",
	"checkov": "CKV_AZURE_72",
}

deny_app_remote_debugging contains f if {
	some [type, name, app] in apps
	some key in ["remote_debugging_enabled", "remote_debugging"]
	enabled(site_config(app)[key])
	f := app_finding(app_remote_debugging, "CKV_AZURE_72", type, name, "enables remote debugging")
}
