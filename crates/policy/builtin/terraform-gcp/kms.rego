# Cloud KMS: automatic rotation of symmetric keys.
package builtin.gcp

import rego.v1

# ---------------------------------------------------------------------------------------
# STRATA-GCP-014: no rotation period, or one longer than 90 days.

kms_rotation := {
	"id": "STRATA-GCP-014",
	"severity": "medium",
	"title": "KMS key not rotated at least every 90 days",
	"remediation": "Set rotation_period to \"7776000s\" (90 days) or less.",
	"checkov": "CKV_GCP_43",
}

max_rotation_seconds := 7776000

# Only ENCRYPT_DECRYPT (the default purpose) keys rotate automatically.
rotatable(key) if object.get(key, "purpose", "ENCRYPT_DECRYPT") == "ENCRYPT_DECRYPT"

# "7776000s" -> 7776000 (fractions of a second allowed).
seconds(period) := to_number(trim_suffix(period, "s")) if {
	is_string(period)
	regex.match(`^[0-9]+(\.[0-9]+)?s$`, period)
}

deny_kms_rotation contains f if {
	some [name, key] in resources("google_kms_crypto_key")
	rotatable(key)
	not key.rotation_period
	f := finding(
		kms_rotation,
		sprintf("google_kms_crypto_key.%s", [name]),
		sprintf("google_kms_crypto_key.%s has no rotation_period", [name]),
	)
}

deny_kms_rotation contains f if {
	some [name, key] in resources("google_kms_crypto_key")
	rotatable(key)
	seconds(key.rotation_period) > max_rotation_seconds
	f := finding(
		kms_rotation,
		sprintf("google_kms_crypto_key.%s", [name]),
		sprintf("google_kms_crypto_key.%s rotates every %s, more than 90 days", [name, key.rotation_period]),
	)
}

unknown_kms_rotation contains f if {
	some [name, key] in resources("google_kms_crypto_key")
	rotatable(key)
	computed(key.rotation_period)
	f := finding(
		kms_rotation,
		sprintf("google_kms_crypto_key.%s", [name]),
		sprintf("google_kms_crypto_key.%s: rotation_period is known only after apply", [name]),
	)
}
