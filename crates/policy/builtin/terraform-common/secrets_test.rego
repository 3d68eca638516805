package builtin.terraform

import rego.v1

# Fixtures are built from pieces so that this file does not itself look like it holds
# credentials.
fake_aws_key := concat("", ["AKIA", "IOSFODNN7", "EXAMPLE"])

fake_private_key := concat("", ["-----BEGIN RSA ", "PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA ", "PRIVATE KEY-----\n"])

fake_github_token := concat("", ["ghp_", "aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"])

fake_slack_token := concat("", ["xoxb-", "1234567890-0987654321-AbCdEfGhIjKl"])

fake_slack_webhook := concat("", ["https://hooks.slack.com/services/", "T0000000/B0000000/XXXXXXXXXXXXXXXXXXXXXXXX"])

random_literal := concat("", ["q8Zr3Lm0", "Xv7Tb2Nk", "Wp5Yc9Hd"])

with_resource(type, body) := {"resource": {type: {"this": body}}}

test_clean_file_has_no_secret_findings if {
	inp := {
		"provider": {"aws": {"region": "eu-west-1"}},
		"variable": {"db_password": {"type": "${string}", "sensitive": true, "description": "Master password"}},
		"resource": {"aws_db_instance": {"main": {
			"identifier": "acme-main",
			"password": "${var.db_password}",
			"manage_master_user_password": false,
			"kms_key_id": "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
			"tags": {"owner": "sre", "cost-center": "MyApplicationServiceRole2024x"},
		}}},
		"module": {"vpc": {"source": "git::https://example.com/vpc.git?ref=3f2c1d9e8b7a6c5d4e3f2a1b0c9d8e7f6a5b4c3d"}},
		"locals": {"token_ttl": 3600, "api_key_secret_arn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:api"},
	}
	count(deny_secret_aws_access_key) == 0 with input as inp
	count(deny_secret_private_key) == 0 with input as inp
	count(deny_secret_github_token) == 0 with input as inp
	count(deny_secret_slack_token) == 0 with input as inp
	count(deny_secret_literal) == 0 with input as inp
	count(deny_secret_high_entropy) == 0 with input as inp
}

test_sops_encrypted_values_pass if {
	inp := with_resource("aws_db_instance", {"password": "ENC[AES256_GCM,data:Tr7o=,iv:1=,tag:2=,type:str]"})
	count(deny_secret_literal) == 0 with input as inp
	count(deny_secret_high_entropy) == 0 with input as inp
}

# STRATA-TF-006

test_aws_access_key_in_provider_denied if {
	fs := deny_secret_aws_access_key with input as {"provider": {"aws": {"region": "eu-west-1", "access_key": fake_aws_key}}}
	count(fs) == 1
	some f in fs
	f.id == "STRATA-TF-006"
	f.severity == "critical"
	f.checkov == "CKV_SECRET_2"
	f.resource == "provider.aws"
	f.msg == "provider.aws.access_key holds an AWS access key id"
	not contains(f.msg, fake_aws_key)
}

test_aws_access_key_inside_template_denied if {
	inp := with_resource("aws_instance", {"user_data": concat("", ["${templatefile(\"x\", {key = \"", fake_aws_key, "\"})}"])})
	count(deny_secret_aws_access_key) == 1 with input as inp
}

test_aws_key_shaped_id_inside_longer_token_passes if {
	count(deny_secret_aws_access_key) == 0 with input as with_resource("x", {"name": concat("", ["XAKIA", "IOSFODNN7EXAMPLE"])})
}

# STRATA-TF-007

test_private_key_in_heredoc_denied if {
	fs := deny_secret_private_key with input as with_resource("tls_locally_signed_cert", {"ca_private_key_pem": fake_private_key})
	some f in fs
	f.id == "STRATA-TF-007"
	f.checkov == "CKV_SECRET_13"
	f.resource == "tls_locally_signed_cert.this"
}

test_public_key_passes if {
	count(deny_secret_private_key) == 0 with input as with_resource("aws_key_pair", {"public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJd ops@acme"})
}

# STRATA-TF-008

test_github_token_in_nested_block_denied if {
	inp := {"resource": {"aws_codebuild_source_credential": {"gh": [{"auth_type": "PERSONAL_ACCESS_TOKEN", "server_type": "GITHUB", "token": fake_github_token}]}}}
	fs := deny_secret_github_token with input as inp
	some f in fs
	f.id == "STRATA-TF-008"
	f.resource == "aws_codebuild_source_credential.gh"
	f.msg == "resource.aws_codebuild_source_credential.gh[0].token holds a GitHub token"

	# reported once, as a GitHub token, not again as a literal secret
	count(deny_secret_literal) == 0 with input as inp
	count(deny_secret_high_entropy) == 0 with input as inp
}

test_github_fine_grained_token_denied if {
	pat := concat("", ["github_pat_", "11ABCDEFG0abcdefghijkl_mnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"])
	count(deny_secret_github_token) == 1 with input as {"locals": {"gh": pat}}
}

test_github_repository_names_pass if {
	count(deny_secret_github_token) == 0 with input as with_resource("github_repository", {"name": "ghp_tools"})
}

# STRATA-TF-009

test_slack_token_and_webhook_denied if {
	inp := {"variable": {"slack": {"default": {"token": fake_slack_token, "url": fake_slack_webhook}}}}
	fs := deny_secret_slack_token with input as inp
	{f.msg | some f in fs} == {
		"variable.slack.default.token holds a Slack token or webhook URL",
		"variable.slack.default.url holds a Slack token or webhook URL",
	}
	some f in fs
	f.id == "STRATA-TF-009"
	f.resource == "var.slack"
	f.checkov == "CKV_SECRET_14"
}

test_slack_channel_names_pass if {
	count(deny_secret_slack_token) == 0 with input as {"locals": {"channel": "#xoxo-team"}}
}

# STRATA-TF-010

test_literal_password_denied if {
	fs := deny_secret_literal with input as with_resource("aws_db_instance", {"username": "admin", "password": "hunter2!"})
	count(fs) == 1
	some f in fs
	f.id == "STRATA-TF-010"
	f.checkov == "CKV_SECRET_6"
	f.resource == "aws_db_instance.this"
	f.msg == "resource.aws_db_instance.this.password is a literal value"
}

test_secret_variable_default_denied if {
	fs := deny_secret_literal with input as {"variable": {"api_token": {"type": "${string}", "default": "Tr0ub4dor&3"}}}
	some f in fs
	f.resource == "var.api_token"
	f.attribute == "default"
}

# Values under secret-sounding names that are not secrets (seen on public repositories):
# parameter paths, a secret's name, units, placeholders, a default to be replaced.
test_values_that_do_not_look_like_secrets_pass if {
	inp := {
		"resource": {"aws_ssm_parameter": {"token": {"name": "/github/token", "type": "SecureString", "value": "/github/token"}}},
		"module": {"alerts": {"source": "./alerts", "slack_token": "$slack-token", "api_key": "<your key>", "token_ttl_secret": "minutes"}},
		"variable": {
			"db_password": {"default": "changeme"},
			"secret_name": {"default": "app-db-credentials"},
			"client_secret": {"default": "{{ resolve:secretsmanager:app }}"},
			"webhook_token": {"default": "https://hooks.example.com/alerts"},
		},
	}
	count(deny_secret_literal) == 0 with input as inp
}

test_identifiers_are_not_random_literals if {
	inp := {"resource": {"aws_iam_role_policy_attachment": {"cni": {"policy_arn": "${local.policy_prefix}/AmazonEKS_CNI_IPv6_Policy", "name": "AmazonEKS_CNI_IPv6_Policy_Attachment2"}}}}
	count(deny_secret_high_entropy) == 0 with input as inp
	dated := {"resource": {"aws_opensearch_domain": {"d": {"domain_endpoint_options": {"tls_security_policy": "Policy-Min-TLS-1-2-PFS-2023-10"}}}}}
	count(deny_secret_high_entropy) == 0 with input as dated
}

test_secret_store_values_denied if {
	inp := {"resource": {
		"aws_secretsmanager_secret_version": {"db": {"secret_id": "${aws_secretsmanager_secret.db.id}", "secret_string": "{\"user\":\"app\",\"pw\":\"x\"}"}},
		"aws_ssm_parameter": {
			"secure": {"name": "/app/pw", "type": "SecureString", "value": "s3cret-value"},
			"plain": {"name": "/app/region", "type": "String", "value": "eu-west-1"},
		},
		"kubernetes_secret": {"app": {"metadata": {"name": "app"}, "data": {"DB_URL": "postgres://app@db/app"}}},
	}}
	fs := deny_secret_literal with input as inp
	{f.resource | some f in fs} == {"aws_secretsmanager_secret_version.db", "aws_ssm_parameter.secure", "kubernetes_secret.app"}
}

test_computed_and_empty_secrets_pass if {
	count(deny_secret_literal) == 0 with input as with_resource("azurerm_linux_virtual_machine", {
		"admin_password": "${random_password.vm.result}",
		"client_secret": "",
		"secret_arn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:x",
		"password_length": 32,
	})
}

# STRATA-TF-011

test_random_literal_denied if {
	fs := deny_secret_high_entropy with input as {"locals": {"signing": random_literal}}
	count(fs) == 1
	some f in fs
	f.id == "STRATA-TF-011"
	f.severity == "medium"
	f.checkov == "CKV_SECRET_6"
	f.resource == "local.signing"
	f.msg == "locals.signing is a random-looking literal of 24 characters"
}

test_hex_literal_denied if {
	fs := deny_secret_high_entropy with input as {"locals": [{"a": 1}, {"webhook_key": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}]}
	some f in fs
	f.checkov == "CKV_SECRET_19"
	f.msg == "locals[1].webhook_key is a random-looking literal of 64 characters"
}

test_digests_names_and_words_pass if {
	count(deny_secret_high_entropy) == 0 with input as {"resource": {
		"aws_lambda_function": {"f": {"source_code_hash": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}},
		"aws_iam_openid_connect_provider": {"gh": {"thumbprint_list": ["6938fd4d98bab03faadb97b34396831e3780aea1"]}},
		"aws_iam_role": {"r": {"name": "EKSClusterRoleForAcmeProd2024", "description": "Role for the EKS control plane"}},
		"aws_s3_bucket": {"b": {"bucket": "acme-prod-eu-west-1-logs-2024"}},
	}}
}

test_values_nested_twelve_levels_deep_are_read if {
	manifest := {"spec": {"template": {"spec": {"containers": [{"name": "app", "env": [{"name": "GH", "value": fake_github_token}]}]}}}}
	fs := deny_secret_github_token with input as {"resource": {"kubernetes_manifest": {"app": {"manifest": manifest}}}}
	some f in fs
	f.resource == "kubernetes_manifest.app"
	f.msg == "resource.kubernetes_manifest.app.manifest.spec.template.spec.containers[0].env[0].value holds a GitHub token"
}

test_values_nested_at_any_depth_are_read if {
	deep := {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": {"j": {"k": {"l": {"m": {"token": fake_github_token}}}}}}}}}}}}}}
	fs := deny_secret_github_token with input as {"locals": {"deep": deep}}
	count(fs) == 1
}

test_data_sources_and_terraform_blocks_are_read if {
	inp := {
		"data": {"http": {"release": {"url": "https://api.github.com/repos/acme/x", "request_headers": {"Authorization": concat(" ", ["Bearer", fake_github_token])}}}},
		"terraform": {"backend": {"s3": {"bucket": "b", "access_key": fake_aws_key}}},
	}
	{f.resource | some f in deny_secret_github_token} == {"data.http.release"} with input as inp
	{f.resource | some f in deny_secret_aws_access_key} == {"terraform"} with input as inp
}

test_plans_are_not_scanned if {
	plan := {"format_version": "1.2", "planned_values": {"root_module": {"resources": [{"values": {"token": fake_github_token, "password": "hunter2!"}}]}}}
	count(deny_secret_github_token) == 0 with input as plan
	count(deny_secret_literal) == 0 with input as plan
}

test_paths_with_generated_directory_names_pass if {
	inp := {"data": {"terraform_remote_state": {"net": {"config": {"path": "/tmp/.tmpX7kQ2p9Z/sample-3fa9b2c1d4e5/dev/stacks/network/terraform.tfstate"}}}}}
	count(deny_secret_high_entropy) == 0 with input as inp
	# A one-letter workspace name before the digest (`t-...`): the directory name and the
	# digest side by side are 24 characters and more.
	short := {"locals": {"p": "/tmp/.tmpQ3xY8W/t-3fa9b2c1d4e5/dev/stacks/network/terraform.tfstate"}}
	count(deny_secret_high_entropy) == 0 with input as short
}

test_random_part_of_a_path_denied if {
	key := "wJalrXUtnFEMIK7MDENGbPxRfiCY9x2Q"
	inp := {"locals": {"p": concat("", ["/etc/app/keys/", key, "/id"])}}
	fs := deny_secret_high_entropy with input as inp
	{f.msg | some f in fs} == {"locals.p contains a random-looking literal of 35 characters"}
}

test_random_run_with_slashes_in_a_path_denied if {
	key := "PtYgjmUh/el31iEl2hpCh/gCfrL1spNx8yVmihA0"
	inp := {"locals": {"hook": concat("", ["https://ci.example.com/hooks/deploy/prod/", key])}}
	fs := deny_secret_high_entropy with input as inp
	{f.msg | some f in fs} == {"locals.hook contains a random-looking literal of 40 characters"}
}

test_public_keys_and_certificates_pass if {
	ssh := concat("", ["ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC", random_literal, "x7Kq9Zp2Lw user@host"])
	ca := "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkVxVjhpYjhIRHk4OFl0RHRYYml1Zk1kSThYMlk0clVtZXIvQkgzTTFYUzBEUmRKdVBuQklLcGk5OWxTaTB0Y0wKMjFwZmZXUUpFZU5ham5lejBMSHRmUk9VcldXNlhuSTNFTTNITVJiMU9jV3JoUTdUVEorY2hjVkc2TU93VXhPVgotLS0tLUVORCBDRVJUSUZJQ0FURS0tLS0tCg=="
	count(deny_secret_high_entropy) == 0 with input as {"locals": {"key": ssh, "ca": ca}}
	# A private key in base64 is still a secret, and so is a certificate bundled with one.
	private := concat("", ["LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlFcEFJQkFBS0NBUUVBN3g5", random_literal])
	count(deny_secret_high_entropy) == 1 with input as {"locals": {"key": private}}
	bundle := "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkVxVjhpYjhIRHk4OFl0RHRYYml1Zk1kSThYMlk0clVtZXIvQkgzTTFYUzBEUmRKdVBuQklLcGk5OWxTaTB0Y0wKMjFwZmZXUUpFZU5ham5lejBMSHRmUk9VcldXNlhuSTNFTTNITVJiMU9jV3JoUTdUVEorY2hjVkc2TU93VXhPVgotLS0tLUVORCBDRVJUSUZJQ0FURS0tLS0tCi0tLS0tQkVHSU4gUFJJVkFURSBLRVktLS0tLQpWT3hVd09NNkdWY2hjK0pUVDdRaHJXY08xYlJNSDNNRTNJblg2V1dyVU9SZnRITDB6ZW5qYU5lRUpRV2ZmcDEyCi0tLS0tRU5EIFBSSVZBVEUgS0VZLS0tLS0K"
	count(deny_secret_high_entropy) == 1 with input as {"locals": {"bundle": bundle}}
	# A script that begins with a public key is not one.
	script := concat("", [ssh, "\nexport API_TOKEN=", random_literal, "\n"])
	fs := deny_secret_high_entropy with input as {"locals": {"user_data": script}}
	"locals.user_data contains a random-looking literal of 24 characters" in {f.msg | some f in fs}
}

test_camel_case_names_pass if {
	count(deny_secret_high_entropy) == 0 with input as {"locals": {"ids": "${module.x.outputs[\"RunsOnPrivateRouteTable1Id\"]}", "o": "VpcEndpointSecurityGroupIds"}}
}

test_key_cut_by_a_short_part_in_a_path_denied if {
	inp := {"locals": {"p": "prod/app/AbC1dEf2GhI3/xk9/JkL4mNo5PqR6StU7"}}
	count(deny_secret_high_entropy) == 1 with input as inp
}

test_random_literal_inside_text_denied if {
	script := concat("", ["#!/bin/sh\nexport SIGNING_KEY=", random_literal, "\nexec app\n"])
	fs := deny_secret_high_entropy with input as with_resource("aws_instance", {"user_data": script})
	{f.msg | some f in fs} == {"resource.aws_instance.this.user_data contains a random-looking literal of 24 characters"}
}

test_random_literal_inside_expression_denied if {
	inp := {"locals": {"key": concat("", ["${format(\"%s:%s\", var.user, \"", random_literal, "\")}"])}}
	count(deny_secret_high_entropy) == 1 with input as inp
	count(deny_secret_literal) == 0 with input as inp
}

test_commit_in_module_source_passes if {
	count(deny_secret_high_entropy) == 0 with input as {"module": {"vpc": {"source": "git::https://example.com/vpc.git?ref=3f2c1d9e8b7a6c5d4e3f2a1b0c9d8e7f6a5b4c3d"}}}
}
