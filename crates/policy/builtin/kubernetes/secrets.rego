# STRATA-K8S-017: a secret written into a container's environment in clear text.
#
# An env var whose name says it holds a credential (password, secret, token, key, ...)
# must take its value from a Secret (valueFrom.secretKeyRef) or a mounted file, never a
# literal `value`. Values that are empty, or look like references to something else
# (`$(OTHER_VAR)`, SOPS `ENC[...]`), are not secrets.
package builtin.kubernetes

import rego.v1

env_secret := {
	"id": "STRATA-K8S-017",
	"severity": "high",
	"title": "Secret in a container's environment in clear text",
	"remediation": "Store the value in a Kubernetes Secret (or an external secret store) and reference it with env[].valueFrom.secretKeyRef.",
	"checkov": "CKV_SECRET_6",
}

secret_name_parts := ["PASSWORD", "PASSWD", "SECRET", "TOKEN", "API_KEY", "APIKEY", "PRIVATE_KEY", "ACCESS_KEY", "CREDENTIAL"]

secret_named(name) if {
	some part in secret_name_parts
	contains(upper(name), part)
}

literal_secret(value) if {
	is_string(value)
	count(value) >= 8
	not startswith(value, "$(")
	not startswith(value, "ENC[")
}

deny_env_secret contains f if {
	some c in containers
	some e in c.spec.env
	secret_named(e.name)
	literal_secret(e.value)
	f := finding(env_secret, sprintf("%s sets %s to a literal value (the value is not shown)", [c.label, e.name]))
}
