# Compute Engine VMs and templates: serial ports, IP forwarding, project-wide SSH keys,
# the default service account, Shielded VM.
package builtin.gcp

import rego.v1

vm_types := ["google_compute_instance", "google_compute_instance_template", "google_compute_instance_from_template"]

vms contains [type, name, body] if {
	some type in vm_types
	some [name, body] in resources(type)
}

# An instance created from a template takes what it does not set from the template, so only
# what it sets itself is judged; a setting missing from it is the template's to have.
own_settings_only(type) if type == "google_compute_instance_from_template"

vm_finding(meta, type, name, msg) := finding(meta, addr(type, name), sprintf("%s.%s %s", [type, name, msg]))

metadata_flag(vm, key) := flag(object.get(vm, "metadata", {}), [key], false)

# ---------------------------------------------------------------------------------------
# STRATA-GCP-028: interactive serial console enabled.

compute_serial_port := {
	"id": "STRATA-GCP-028",
	"severity": "medium",
	"title": "Compute instance allows serial port access",
	"remediation": "Remove metadata serial-port-enable (or set it to false); use OS Login over IAP for emergency access.",
	"checkov": "CKV_GCP_35",
}

deny_compute_serial_port contains f if {
	some [type, name, vm] in vms
	metadata_flag(vm, "serial-port-enable") == "on"
	f := vm_finding(compute_serial_port, type, name, "enables the interactive serial console (metadata serial-port-enable)")
}

# ---------------------------------------------------------------------------------------
# STRATA-GCP-029: IP forwarding.

compute_ip_forwarding := {
	"id": "STRATA-GCP-029",
	"severity": "medium",
	"title": "Compute instance forwards IP packets",
	"remediation": "Remove can_ip_forward = true unless the VM is a router or NAT appliance (then except the rule for it).",
	"checkov": "CKV_GCP_36",
}

deny_compute_ip_forwarding contains f if {
	some [type, name, vm] in vms
	flag(vm, ["can_ip_forward"], false) == "on"
	f := vm_finding(compute_ip_forwarding, type, name, "sets can_ip_forward = true")
}

# ---------------------------------------------------------------------------------------
# STRATA-GCP-030: project-wide SSH keys accepted.

compute_project_ssh_keys := {
	"id": "STRATA-GCP-030",
	"severity": "low",
	"title": "Compute instance accepts project-wide SSH keys",
	"remediation": "Set metadata block-project-ssh-keys = true (or use OS Login), so a key added to the project does not open every VM.",
	"checkov": "CKV_GCP_32",
}

deny_compute_project_ssh_keys contains f if {
	some [type, name, vm] in vms
	not own_settings_only(type)
	metadata_flag(vm, "block-project-ssh-keys") == "off"
	f := vm_finding(compute_project_ssh_keys, type, name, "does not set metadata block-project-ssh-keys = true")
}

# ---------------------------------------------------------------------------------------
# STRATA-GCP-031: the default service account with access to every API.

compute_default_service_account := {
	"id": "STRATA-GCP-031",
	"severity": "high",
	"title": "Compute instance runs as the default service account with full API access",
	"remediation": "Give the VM a dedicated service account with the roles it needs; do not combine the default account with the cloud-platform scope.",
	"checkov": "CKV_GCP_31",
}

default_compute_account(email) if endswith(email, "-compute@developer.gserviceaccount.com")

default_compute_account(email) if email == "default"

full_access_scope(scope) if scope in {"cloud-platform", "https://www.googleapis.com/auth/cloud-platform"}

deny_compute_default_service_account contains f if {
	some [type, name, vm] in vms
	some account in blocks(object.get(vm, "service_account", []))
	default_compute_account(object.get(account, "email", "default"))
	some scope in as_list(object.get(account, "scopes", []))
	full_access_scope(scope)
	f := vm_finding(compute_default_service_account, type, name, "runs as the default compute service account with the cloud-platform scope")
}

# ---------------------------------------------------------------------------------------
# STRATA-GCP-032: no Shielded VM integrity checks.

compute_shielded_vm := {
	"id": "STRATA-GCP-032",
	"severity": "low",
	"title": "Compute instance without Shielded VM",
	"remediation": "Add shielded_instance_config { enable_vtpm = true, enable_integrity_monitoring = true } (and enable_secure_boot where the image supports it).",
	"checkov": "CKV_GCP_39",
}

deny_compute_shielded_vm contains f if {
	some [type, name, vm] in vms
	not own_settings_only(type)
	not has_block(vm, "shielded_instance_config")
	f := vm_finding(compute_shielded_vm, type, name, "has no shielded_instance_config")
}

deny_compute_shielded_vm contains f if {
	some [type, name, vm] in vms
	config := first(vm, "shielded_instance_config")
	some key in ["enable_vtpm", "enable_integrity_monitoring"]
	flag(config, [key], true) == "off"
	f := vm_finding(compute_shielded_vm, type, name, sprintf("sets shielded_instance_config.%s = false", [key]))
}
