package builtin.aws

import rego.v1

private_cluster := {
	"vpc_config": {"endpoint_public_access": false, "endpoint_private_access": true},
	"encryption_config": {"resources": ["secrets"], "provider": {"key_arn": "${aws_kms_key.eks.arn}"}},
	"enabled_cluster_log_types": ["api", "audit", "authenticator", "controllerManager", "scheduler"],
}

# STRATA-AWS-040 .. 043

test_default_cluster_denied_by_each_rule if {
	inp := res("aws_eks_cluster", {"vpc_config": {"subnet_ids": ["${var.subnets}"]}})
	ids(deny_eks_public_endpoint) == {"CKV_AWS_39"} with input as inp
	ids(deny_eks_public_cidrs) == {"CKV_AWS_38"} with input as inp
	ids(deny_eks_secrets_encryption) == {"CKV_AWS_58"} with input as inp
	count(deny_eks_control_plane_logging) == 1 with input as inp
}

test_private_cluster_passes if {
	inp := res("aws_eks_cluster", private_cluster)
	count(deny_eks_public_endpoint) == 0 with input as inp
	count(deny_eks_public_cidrs) == 0 with input as inp
	count(deny_eks_secrets_encryption) == 0 with input as inp
	count(deny_eks_control_plane_logging) == 0 with input as inp
}

test_public_endpoint_limited_to_office_is_not_open_to_all if {
	inp := res("aws_eks_cluster", {"vpc_config": {"public_access_cidrs": ["203.0.113.0/24"]}})
	count(deny_eks_public_cidrs) == 0 with input as inp
	count(deny_eks_public_endpoint) == 1 with input as inp
	count(unknown_eks_public_endpoint) == 1 with input as res("aws_eks_cluster", {"vpc_config": {"endpoint_public_access": "${var.public}"}})
}

test_partial_control_plane_logging_denied if {
	fs := deny_eks_control_plane_logging with input as res("aws_eks_cluster", {"enabled_cluster_log_types": ["api", "audit"]})
	ids(fs) == {"CKV_AWS_37"}
	some f in fs
	contains(f.msg, "authenticator, controllerManager, scheduler")
}

# STRATA-AWS-044 .. 047

test_lambda_defaults_denied if {
	inp := res("aws_lambda_function", {"runtime": "python3.12", "environment": {"variables": {"STAGE": "prod"}}})
	ids(deny_lambda_tracing) == {"CKV_AWS_50"} with input as inp
	ids(deny_lambda_env_kms) == {"CKV_AWS_173"} with input as inp
}

test_lambda_traced_and_encrypted_passes if {
	inp := res("aws_lambda_function", {"tracing_config": {"mode": "Active"}, "kms_key_arn": "${aws_kms_key.fn.arn}", "environment": {"variables": {"STAGE": "prod"}}})
	count(deny_lambda_tracing) == 0 with input as inp
	count(deny_lambda_env_kms) == 0 with input as inp
	count(deny_lambda_env_kms) == 0 with input as res("aws_lambda_function", {"runtime": "nodejs20.x"})
}

test_lambda_url_without_auth_denied if {
	ids(deny_lambda_url_auth) == {"CKV_AWS_258"} with input as res("aws_lambda_function_url", {"authorization_type": "NONE"})
	count(deny_lambda_url_auth) == 0 with input as res("aws_lambda_function_url", {"authorization_type": "AWS_IAM"})
}

test_lambda_permission_for_everyone_denied if {
	ids(deny_lambda_public_permission) == {"CKV_AWS_301"} with input as res("aws_lambda_permission", {"action": "lambda:InvokeFunction", "principal": "*"})
	count(deny_lambda_public_permission) == 0 with input as res("aws_lambda_permission", {"principal": "events.amazonaws.com", "source_arn": "${aws_cloudwatch_event_rule.x.arn}"})
}

# STRATA-AWS-048 .. 050

test_default_repository_denied_by_each_rule if {
	inp := res("aws_ecr_repository", {"name": "app"})
	ids(deny_ecr_scan_on_push) == {"CKV_AWS_163"} with input as inp
	ids(deny_ecr_immutable_tags) == {"CKV_AWS_51"} with input as inp
	ids(deny_ecr_kms) == {"CKV_AWS_136"} with input as inp
}

test_hardened_repository_passes if {
	inp := res("aws_ecr_repository", {
		"image_tag_mutability": "IMMUTABLE",
		"image_scanning_configuration": {"scan_on_push": true},
		"encryption_configuration": {"encryption_type": "KMS"},
	})
	count(deny_ecr_scan_on_push) == 0 with input as inp
	count(deny_ecr_immutable_tags) == 0 with input as inp
	count(deny_ecr_kms) == 0 with input as inp
}
