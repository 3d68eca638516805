# State backends: remote, encrypted and locked outside dev.
#
# data.strata.environment names the environment being checked. In an environment-less
# scan (null) whether a rule applies cannot be decided, so a backend that would fail
# outside dev is reported as unknown. An empty backend block (partial configuration,
# completed with -backend-config at init) is unknown too.
package builtin.terraform

import rego.v1

backends contains [type, body] if {
	some settings in blocks(input.terraform)
	some type, raw in settings.backend
	some body in blocks(raw)
}

backend_address(type) := sprintf("terraform.backend.%s", [type])

partial(body) if count(body) == 0

# ---------------------------------------------------------------------------------------
# STRATA-TF-003: state kept on local disk outside dev.

backend_local := {
	"id": "STRATA-TF-003",
	"severity": "high",
	"title": "Local state backend outside dev",
	"remediation": "Use a remote backend (s3, gcs, azurerm, remote, ...) with encryption and locking; local state is lost with the machine and cannot be shared or locked.",
}

local_severity := "critical" if in_prod

local_severity := "high" if not in_prod

deny_backend_local contains f if {
	some [type, _] in backends
	type == "local"
	outside_dev
	f := finding(
		object.union(backend_local, {"severity": local_severity}),
		backend_address(type),
		sprintf("the local backend keeps %s state on disk", [environment]),
	)
}

unknown_backend_local contains f if {
	some [type, _] in backends
	type == "local"
	environment == null
	f := finding(backend_local, backend_address(type), "local backend: allowed only in dev, and this scan has no environment")
}

# ---------------------------------------------------------------------------------------
# STRATA-TF-004: backend with an encryption switch left off.

backend_encryption := {
	"id": "STRATA-TF-004",
	"severity": "high",
	"title": "State backend without encryption",
	"remediation": "Set encrypt = true (with kms_key_id on s3 for a customer managed key). gcs, azurerm and remote encrypt state at rest on their own.",
}

# Backends whose encryption at rest is a setting.
encryption_settings := {"s3": "encrypt", "oss": "encrypt", "cos": "encrypt"}

unencrypted(type, body) if {
	setting := encryption_settings[type]
	not partial(body)
	not enabled(object.get(body, setting, false))
}

deny_backend_encryption contains f if {
	some [type, body] in backends
	unencrypted(type, body)
	outside_dev
	f := finding(
		backend_encryption,
		backend_address(type),
		sprintf("the %s backend does not set %s = true (environment %s)", [type, encryption_settings[type], environment]),
	)
}

unknown_backend_encryption contains f if {
	some [type, body] in backends
	unencrypted(type, body)
	environment == null
	f := finding(
		backend_encryption,
		backend_address(type),
		sprintf("the %s backend does not set %s = true: required outside dev, and this scan has no environment", [type, encryption_settings[type]]),
	)
}

unknown_backend_encryption contains f if {
	some [type, body] in backends
	encryption_settings[type]
	partial(body)
	not environment in dev_environments
	f := finding(
		backend_encryption,
		backend_address(type),
		sprintf("the %s backend is configured at init (-backend-config), so its encryption is not known here", [type]),
	)
}

# ---------------------------------------------------------------------------------------
# STRATA-TF-005: backend without state locking.

backend_locking := {
	"id": "STRATA-TF-005",
	"severity": "medium",
	"title": "State backend without locking",
	"remediation": "Enable locking: use_lockfile = true or dynamodb_table on s3, tablestore_table on oss, lock_address on http. gcs, azurerm, consul, pg, kubernetes and remote lock on their own.",
}

# Backends whose locking is a setting: any of these attributes turns it on.
lock_settings := {
	"s3": ["use_lockfile", "dynamodb_table"],
	"oss": ["tablestore_table"],
	"http": ["lock_address"],
}

locked(body, settings) if {
	some setting in settings
	value := body[setting]
	not value in {false, "false", ""}
}

unlocked(type, body) if {
	settings := lock_settings[type]
	not partial(body)
	not locked(body, settings)
}

deny_backend_locking contains f if {
	some [type, body] in backends
	unlocked(type, body)
	outside_dev
	f := finding(
		backend_locking,
		backend_address(type),
		sprintf("the %s backend has no state locking (set one of %s; environment %s)", [type, concat(", ", lock_settings[type]), environment]),
	)
}

unknown_backend_locking contains f if {
	some [type, body] in backends
	unlocked(type, body)
	environment == null
	f := finding(
		backend_locking,
		backend_address(type),
		sprintf("the %s backend has no state locking: required outside dev, and this scan has no environment", [type]),
	)
}

unknown_backend_locking contains f if {
	some [type, body] in backends
	lock_settings[type]
	partial(body)
	not environment in dev_environments
	f := finding(
		backend_locking,
		backend_address(type),
		sprintf("the %s backend is configured at init (-backend-config), so its locking is not known here", [type]),
	)
}
