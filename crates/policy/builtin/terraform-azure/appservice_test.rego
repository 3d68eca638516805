package builtin.azure

import rego.v1

# STRATA-AZ-025 .. 028

test_default_apps_denied if {
	ids(deny_app_https_only) == {"CKV_AZURE_14"} with input as res("azurerm_linux_web_app", {"site_config": {}})
	ids(deny_app_https_only) == {"CKV_AZURE_70"} with input as res("azurerm_linux_function_app", {"site_config": {}})
	ids(deny_app_ftps) == {"CKV_AZURE_78"} with input as res("azurerm_app_service", {"https_only": true})
	count(deny_app_ftps) == 0 with input as res("azurerm_linux_web_app", {"https_only": true})
}

test_old_tls_and_remote_debugging_denied if {
	inp := res("azurerm_windows_web_app", {"https_only": true, "site_config": {"minimum_tls_version": "1.0", "remote_debugging_enabled": true, "ftps_state": "AllAllowed"}})
	ids(deny_app_min_tls) == {"CKV_AZURE_15"} with input as inp
	ids(deny_app_remote_debugging) == {"CKV_AZURE_72"} with input as inp
	ids(deny_app_ftps) == {"CKV_AZURE_78"} with input as inp
	ids(deny_app_min_tls) == {"CKV_AZURE_145"} with input as res("azurerm_linux_function_app", {"site_config": {"minimum_tls_version": "1.1"}})
}

test_hardened_app_passes if {
	inp := res("azurerm_app_service", {"https_only": true, "site_config": {"min_tls_version": "1.2", "ftps_state": "Disabled", "remote_debugging": false}})
	count(deny_app_https_only) == 0 with input as inp
	count(deny_app_min_tls) == 0 with input as inp
	count(deny_app_ftps) == 0 with input as inp
	count(deny_app_remote_debugging) == 0 with input as inp
}
