package builtin.kubernetes

import rego.v1

env_pod(env) := {
	"kind": "Pod",
	"metadata": {"name": "worker"},
	"spec": {"containers": [{"name": "app", "image": "acme/worker:1.0.0", "env": env}]},
}

test_literal_password_is_denied if {
	ids := {f.id | some f in deny_env_secret} with input as env_pod([{"name": "BROKER_PASSWORD", "value": "Tq8vR2mXw9LpZ4nK"}])
	ids == {"STRATA-K8S-017"}
}

test_message_does_not_show_the_value if {
	some f in deny_env_secret with input as env_pod([{"name": "api_token", "value": "abcdef0123456789"}])
	not contains(f.msg, "abcdef0123456789")
}

test_secret_reference_passes if {
	count(deny_env_secret) == 0 with input as env_pod([{"name": "BROKER_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "broker", "key": "password"}}}])
}

test_ordinary_variables_pass if {
	count(deny_env_secret) == 0 with input as env_pod([{"name": "LOG_LEVEL", "value": "debug-verbose"}])
}

test_references_and_sops_values_pass if {
	count(deny_env_secret) == 0 with input as env_pod([
		{"name": "DB_PASSWORD", "value": "$(SHARED_DB_PASSWORD)"},
		{"name": "API_TOKEN", "value": "ENC[AES256_GCM,data:abc,iv:def,tag:ghi,type:str]"},
		{"name": "EMPTY_SECRET", "value": ""},
	])
}
