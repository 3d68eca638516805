package builtin.aws

import rego.v1

good_trail := {
	"enable_log_file_validation": true,
	"kms_key_id": "${aws_kms_key.trail.arn}",
	"is_multi_region_trail": true,
}

# STRATA-AWS-024 .. 027

test_bare_trail_denied_by_each_trail_rule if {
	inp := res("aws_cloudtrail", {"s3_bucket_name": "trail"})
	ids(deny_cloudtrail_log_validation) == {"CKV_AWS_36"} with input as inp
	ids(deny_cloudtrail_kms) == {"CKV_AWS_35"} with input as inp
	ids(deny_cloudtrail_multi_region) == {"CKV_AWS_67"} with input as inp
	count(deny_cloudtrail_logging) == 0 with input as inp
}

test_hardened_trail_passes if {
	inp := res("aws_cloudtrail", good_trail)
	count(deny_cloudtrail_log_validation) == 0 with input as inp
	count(deny_cloudtrail_kms) == 0 with input as inp
	count(deny_cloudtrail_multi_region) == 0 with input as inp
	count(deny_cloudtrail_logging) == 0 with input as inp
}

test_trail_switched_off_denied if {
	ids(deny_cloudtrail_logging) == {"CKV_AWS_251"} with input as res("aws_cloudtrail", object.union(good_trail, {"enable_logging": false}))
}

test_trail_computed_settings_are_unknown if {
	inp := res("aws_cloudtrail", object.union(good_trail, {"enable_log_file_validation": "${var.v}", "is_multi_region_trail": "${var.m}"}))
	count(deny_cloudtrail_log_validation) == 0 with input as inp
	count(unknown_cloudtrail_log_validation) == 1 with input as inp
	count(unknown_cloudtrail_multi_region) == 1 with input as inp
}

# STRATA-AWS-028, 029

test_log_group_without_key_denied if {
	ids(deny_log_group_kms) == {"CKV_AWS_158"} with input as res("aws_cloudwatch_log_group", {"name": "app"})
	count(deny_log_group_kms) == 0 with input as res("aws_cloudwatch_log_group", {"kms_key_id": "${aws_kms_key.logs.arn}"})
}

test_log_group_short_retention_denied if {
	ids(deny_log_group_retention) == {"CKV_AWS_338"} with input as res("aws_cloudwatch_log_group", {"retention_in_days": 30})
}

test_log_group_long_or_unset_retention_passes if {
	count(deny_log_group_retention) == 0 with input as res("aws_cloudwatch_log_group", {"retention_in_days": 400})
	count(deny_log_group_retention) == 0 with input as res("aws_cloudwatch_log_group", {})
	count(deny_log_group_retention) == 0 with input as res("aws_cloudwatch_log_group", {"retention_in_days": 0})
	count(unknown_log_group_retention) == 1 with input as res("aws_cloudwatch_log_group", {"retention_in_days": "${var.days}"})
}

# STRATA-AWS-030

test_vpc_without_flow_log_denied if {
	inp := {"resource": {
		"aws_vpc": {"main": {"cidr_block": "10.0.0.0/16"}, "other": {}},
		"aws_flow_log": {"main": {"vpc_id": "${aws_vpc.main.id}", "traffic_type": "ALL"}},
	}}
	fs := deny_vpc_flow_logs with input as inp
	{f.resource | some f in fs} == {"aws_vpc.other"}
	ids(fs) == {"CKV2_AWS_11"}
}

test_vpc_flow_log_from_a_variable_is_unknown if {
	inp := {"resource": {
		"aws_vpc": {"main": {}},
		"aws_flow_log": {"main": {"vpc_id": "${var.vpc_id}"}},
	}}
	count(deny_vpc_flow_logs) == 0 with input as inp
	count(unknown_vpc_flow_logs) == 1 with input as inp
}
