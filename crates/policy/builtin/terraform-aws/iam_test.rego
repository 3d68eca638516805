package builtin.aws

import rego.v1

admin_json := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`

scoped_json := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":"arn:aws:s3:::acme/*"}]}`

wildcard_on_bucket_json := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::acme/*"}}`

public_json := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"*"}]}`

public_aws_json := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":"kms:*","Resource":"*"}]}`

conditioned_json := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"*","Condition":{"ArnEquals":{"aws:SourceArn":"arn:aws:sns:eu-west-1:123456789012:events"}}}]}`

# STRATA-AWS-031, 032

test_admin_policy_denied_by_both_rules if {
	inp := res("aws_iam_policy", {"policy": admin_json})
	fs := deny_iam_admin_policy with input as inp
	count(fs) == 1
	ids(fs) == {"CKV_AWS_62"}
	ids(deny_iam_wildcard_action) == {"CKV_AWS_63"} with input as inp
}

test_admin_policy_document_denied if {
	inp := {"data": {"aws_iam_policy_document": {"admin": {"statement": {"actions": ["*"], "resources": ["*"]}}}}}
	fs := deny_iam_admin_policy with input as inp
	ids(fs) == {"CKV_AWS_1"}
	{f.resource | some f in fs} == {"data.aws_iam_policy_document.admin"}
	ids(deny_iam_wildcard_action) == {"CKV_AWS_49"} with input as inp
}

test_wildcard_action_on_one_resource_is_not_admin if {
	inp := res("aws_iam_role_policy", {"policy": wildcard_on_bucket_json})
	count(deny_iam_admin_policy) == 0 with input as inp
	count(deny_iam_wildcard_action) == 1 with input as inp
}

test_scoped_deny_and_computed_policies_pass if {
	count(deny_iam_admin_policy) == 0 with input as res("aws_iam_policy", {"policy": scoped_json})
	count(deny_iam_wildcard_action) == 0 with input as res("aws_iam_policy", {"policy": scoped_json})
	deny_all := {"data": {"aws_iam_policy_document": {"d": {"statement": {"effect": "Deny", "actions": ["*"], "resources": ["*"]}}}}}
	count(deny_iam_admin_policy) == 0 with input as deny_all
	count(deny_iam_admin_policy) == 0 with input as res("aws_iam_policy", {"policy": "${data.aws_iam_policy_document.d.json}"})
}

# STRATA-AWS-033

test_user_policies_denied if {
	ids(deny_iam_user_policy) == {"CKV_AWS_40"} with input as res("aws_iam_user_policy", {"user": "ci", "policy": scoped_json})
	count(deny_iam_user_policy) == 1 with input as res("aws_iam_user_policy_attachment", {"user": "ci"})
	count(deny_iam_user_policy) == 1 with input as res("aws_iam_policy_attachment", {"users": ["ci"], "roles": ["app"]})
}

test_role_and_group_attachments_pass if {
	count(deny_iam_user_policy) == 0 with input as res("aws_iam_policy_attachment", {"roles": ["app"], "groups": ["ops"]})
	count(deny_iam_user_policy) == 0 with input as res("aws_iam_role_policy_attachment", {"role": "app"})
}

# STRATA-AWS-034

test_role_trusting_everyone_denied if {
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}`
	ids(deny_iam_trust_any_principal) == {"CKV_AWS_60"} with input as res("aws_iam_role", {"assume_role_policy": trust})
}

test_role_trusting_a_service_or_with_condition_passes if {
	service := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	external := `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"x"}}}]}`
	count(deny_iam_trust_any_principal) == 0 with input as res("aws_iam_role", {"assume_role_policy": service})
	count(deny_iam_trust_any_principal) == 0 with input as res("aws_iam_role", {"assume_role_policy": external})
}

# STRATA-AWS-035

test_administrator_access_attachment_denied if {
	arn := "arn:aws:iam::aws:policy/AdministratorAccess"
	ids(deny_iam_administrator_access) == {"CKV_AWS_274"} with input as res("aws_iam_role_policy_attachment", {"role": "ci", "policy_arn": arn})
	count(deny_iam_administrator_access) == 1 with input as res("aws_iam_role", {"managed_policy_arns": [arn]})
}

test_other_managed_policies_pass if {
	count(deny_iam_administrator_access) == 0 with input as res("aws_iam_role_policy_attachment", {"policy_arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"})
}

# STRATA-AWS-036 .. 038

test_public_resource_policies_denied if {
	ids(deny_kms_key_policy_public) == {"CKV_AWS_33"} with input as res("aws_kms_key", {"policy": public_aws_json})
	ids(deny_ecr_public_policy) == {"CKV_AWS_32"} with input as res("aws_ecr_repository_policy", {"policy": public_json})
	ids(deny_sqs_public_policy) == {"CKV_AWS_168"} with input as res("aws_sqs_queue_policy", {"policy": public_json})
	count(deny_sqs_public_policy) == 1 with input as res("aws_sqs_queue", {"policy": public_json})
}

test_conditioned_or_named_principals_pass if {
	count(deny_sqs_public_policy) == 0 with input as res("aws_sqs_queue_policy", {"policy": conditioned_json})
	count(deny_kms_key_policy_public) == 0 with input as res("aws_kms_key", {"policy": scoped_json})
	count(deny_ecr_public_policy) == 0 with input as res("aws_ecr_repository_policy", {"policy": "${data.aws_iam_policy_document.pull.json}"})
}

# STRATA-AWS-039

test_provider_static_keys_denied if {
	fs := deny_provider_static_credentials with input as {"provider": {"aws": {"region": "eu-west-1", "access_key": "AKIAEXAMPLE", "secret_key": "example"}}}
	count(fs) == 2
	ids(fs) == {"CKV_AWS_41"}
	{f.attribute | some f in fs} == {"access_key", "secret_key"}
}

test_provider_without_static_keys_passes if {
	count(deny_provider_static_credentials) == 0 with input as {"provider": {"aws": [{"region": "eu-west-1"}, {"alias": "us", "access_key": "${var.key}"}]}}
}
