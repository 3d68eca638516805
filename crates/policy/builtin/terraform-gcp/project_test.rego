package builtin.gcp

import rego.v1

# STRATA-GCP-033, 034

test_subnet_without_flow_logs_or_private_access_denied if {
	inp := res("google_compute_subnetwork", {"ip_cidr_range": "10.0.0.0/24"})
	ids(deny_subnet_flow_logs) == {"CKV_GCP_26"} with input as inp
	ids(deny_subnet_private_google_access) == {"CKV_GCP_74"} with input as inp
}

test_logged_subnet_and_proxy_subnet_pass if {
	inp := res("google_compute_subnetwork", {"log_config": {"aggregation_interval": "INTERVAL_5_SEC"}, "private_ip_google_access": true})
	count(deny_subnet_flow_logs) == 0 with input as inp
	count(deny_subnet_private_google_access) == 0 with input as inp
	count(deny_subnet_flow_logs) == 0 with input as res("google_compute_subnetwork", {"purpose": "REGIONAL_MANAGED_PROXY"})
}

# STRATA-GCP-035

test_project_with_default_network_denied if {
	ids(deny_project_default_network) == {"CKV_GCP_27"} with input as res("google_project", {"name": "p"})
	count(deny_project_default_network) == 0 with input as res("google_project", {"auto_create_network": false})
}

# STRATA-GCP-036

test_public_dataset_denied if {
	ids(deny_bigquery_public) == {"CKV_GCP_15"} with input as res("google_bigquery_dataset", {"access": [{"role": "OWNER", "user_by_email": "a@b"}, {"role": "READER", "special_group": "allAuthenticatedUsers"}]})
	count(deny_bigquery_public) == 1 with input as res("google_bigquery_dataset_iam_member", {"role": "roles/bigquery.dataViewer", "member": "allUsers"})
	count(deny_bigquery_public) == 1 with input as res("google_bigquery_dataset_access", {"role": "READER", "iam_member": "allUsers"})
}

test_private_dataset_passes if {
	count(deny_bigquery_public) == 0 with input as res("google_bigquery_dataset", {"access": {"role": "READER", "group_by_email": "analysts@acme.example"}})
	count(deny_bigquery_public) == 0 with input as res("google_bigquery_dataset_iam_binding", {"members": ["group:analysts@acme.example"]})
}

# STRATA-GCP-037, 038

test_public_zone_without_dnssec_denied if {
	ids(deny_dns_dnssec) == {"CKV_GCP_16"} with input as res("google_dns_managed_zone", {"dns_name": "acme.example."})
	count(deny_dns_dnssec) == 0 with input as res("google_dns_managed_zone", {"dnssec_config": {"state": "on"}})
	count(deny_dns_dnssec) == 0 with input as res("google_dns_managed_zone", {"visibility": "private"})
}

test_rsasha1_zone_denied if {
	inp := res("google_dns_managed_zone", {"dnssec_config": {"state": "on", "default_key_specs": [
		{"algorithm": "rsasha1", "key_type": "keySigning"},
		{"algorithm": "rsasha256", "key_type": "zoneSigning"},
	]}})
	fs := deny_dns_rsasha1 with input as inp
	count(fs) == 1
	ids(fs) == {"CKV_GCP_17"}
}

# STRATA-GCP-039, 040

test_basic_roles_and_impersonation_denied if {
	ids(deny_project_basic_roles) == {"CKV_GCP_117"} with input as res("google_project_iam_member", {"role": "roles/editor", "member": "group:dev@acme.example"})
	ids(deny_project_service_account_impersonation) == {"CKV_GCP_41"} with input as res("google_project_iam_binding", {"role": "roles/iam.serviceAccountUser", "members": ["user:ana@acme.example"]})
}

test_predefined_roles_and_service_account_grants_pass if {
	count(deny_project_basic_roles) == 0 with input as res("google_project_iam_member", {"role": "roles/storage.objectViewer", "member": "group:dev@acme.example"})
	count(deny_project_service_account_impersonation) == 0 with input as res("google_project_iam_member", {"role": "roles/iam.serviceAccountUser", "member": "serviceAccount:ci@p.iam.gserviceaccount.com"})
}

# STRATA-GCP-041

test_public_kms_key_denied if {
	ids(deny_kms_public) == {"CKV_GCP_112"} with input as res("google_kms_crypto_key_iam_member", {"role": "roles/cloudkms.cryptoKeyDecrypter", "member": "allAuthenticatedUsers"})
	count(deny_kms_public) == 0 with input as res("google_kms_crypto_key_iam_binding", {"members": ["serviceAccount:app@p.iam.gserviceaccount.com"]})
}
