package builtin.gcp

import rego.v1

hardened_vm := {
	"metadata": {"block-project-ssh-keys": true},
	"shielded_instance_config": {"enable_secure_boot": true},
	"service_account": {"email": "${google_service_account.app.email}", "scopes": ["cloud-platform"]},
}

# STRATA-GCP-028 .. 032

test_default_vm_denied if {
	inp := res("google_compute_instance", {"machine_type": "e2-small", "service_account": {"scopes": ["cloud-platform"]}})
	ids(deny_compute_project_ssh_keys) == {"CKV_GCP_32"} with input as inp
	ids(deny_compute_default_service_account) == {"CKV_GCP_31"} with input as inp
	ids(deny_compute_shielded_vm) == {"CKV_GCP_39"} with input as inp
	count(deny_compute_serial_port) == 0 with input as inp
	count(deny_compute_ip_forwarding) == 0 with input as inp
}

test_hardened_vm_passes if {
	inp := res("google_compute_instance_template", hardened_vm)
	count(deny_compute_project_ssh_keys) == 0 with input as inp
	count(deny_compute_default_service_account) == 0 with input as inp
	count(deny_compute_shielded_vm) == 0 with input as inp
}

test_serial_port_ip_forwarding_and_disabled_vtpm_denied if {
	inp := res("google_compute_instance", object.union(hardened_vm, {
		"metadata": {"block-project-ssh-keys": true, "serial-port-enable": "true"},
		"can_ip_forward": true,
		"shielded_instance_config": {"enable_vtpm": false},
	}))
	ids(deny_compute_serial_port) == {"CKV_GCP_35"} with input as inp
	ids(deny_compute_ip_forwarding) == {"CKV_GCP_36"} with input as inp
	ids(deny_compute_shielded_vm) == {"CKV_GCP_39"} with input as inp
}

test_instance_from_template_is_judged_on_its_own_settings if {
	inp := res("google_compute_instance_from_template", {"source_instance_template": "${google_compute_instance_template.web.self_link_unique}"})
	count(deny_compute_project_ssh_keys) == 0 with input as inp
	count(deny_compute_shielded_vm) == 0 with input as inp
	count(deny_compute_serial_port) == 1 with input as res("google_compute_instance_from_template", {"metadata": {"serial-port-enable": true}})
}

test_default_account_with_narrow_scopes_passes if {
	inp := res("google_compute_instance", {"service_account": {"email": "123-compute@developer.gserviceaccount.com", "scopes": ["logging-write"]}})
	count(deny_compute_default_service_account) == 0 with input as inp
}
