# Audit and network logs: CloudTrail trails, CloudWatch log groups, VPC flow logs.
package builtin.aws

import rego.v1

# ---------------------------------------------------------------------------------------
# STRATA-AWS-024: log files of a trail that cannot be checked for tampering.

cloudtrail_log_validation := {
	"id": "STRATA-AWS-024",
	"severity": "medium",
	"title": "CloudTrail trail without log file validation",
	"remediation": "Set enable_log_file_validation = true, so a deleted or altered log file can be detected.",
	"checkov": "CKV_AWS_36",
}

deny_cloudtrail_log_validation contains f if {
	some [name, body] in resources("aws_cloudtrail")
	flag(body, ["enable_log_file_validation"], false) == "off"
	f := finding(cloudtrail_log_validation, addr("aws_cloudtrail", name), sprintf("aws_cloudtrail.%s does not set enable_log_file_validation = true", [name]))
}

unknown_cloudtrail_log_validation contains f if {
	some [name, body] in resources("aws_cloudtrail")
	flag(body, ["enable_log_file_validation"], false) == "computed"
	f := finding(cloudtrail_log_validation, addr("aws_cloudtrail", name), sprintf("aws_cloudtrail.%s: enable_log_file_validation is known only after apply", [name]))
}

# ---------------------------------------------------------------------------------------
# STRATA-AWS-025: a trail's logs encrypted with S3's keys only.

cloudtrail_kms := {
	"id": "STRATA-AWS-025",
	"severity": "medium",
	"title": "CloudTrail logs not encrypted with a KMS key",
	"remediation": "Set kms_key_id to a customer managed KMS key whose policy lets CloudTrail encrypt and only auditors decrypt.",
	"checkov": "CKV_AWS_35",
}

deny_cloudtrail_kms contains f if {
	some [name, body] in resources("aws_cloudtrail")
	not body.kms_key_id
	f := finding(cloudtrail_kms, addr("aws_cloudtrail", name), sprintf("aws_cloudtrail.%s has no kms_key_id", [name]))
}

# ---------------------------------------------------------------------------------------
# STRATA-AWS-026: a trail that records one region only.

cloudtrail_multi_region := {
	"id": "STRATA-AWS-026",
	"severity": "medium",
	"title": "CloudTrail trail records a single region",
	"remediation": "Set is_multi_region_trail = true, so activity in regions nobody watches is recorded too.",
	"checkov": "CKV_AWS_67",
}

deny_cloudtrail_multi_region contains f if {
	some [name, body] in resources("aws_cloudtrail")
	flag(body, ["is_multi_region_trail"], false) == "off"
	f := finding(cloudtrail_multi_region, addr("aws_cloudtrail", name), sprintf("aws_cloudtrail.%s does not set is_multi_region_trail = true", [name]))
}

unknown_cloudtrail_multi_region contains f if {
	some [name, body] in resources("aws_cloudtrail")
	flag(body, ["is_multi_region_trail"], false) == "computed"
	f := finding(cloudtrail_multi_region, addr("aws_cloudtrail", name), sprintf("aws_cloudtrail.%s: is_multi_region_trail is known only after apply", [name]))
}

# ---------------------------------------------------------------------------------------
# STRATA-AWS-027: a trail that is switched off.

cloudtrail_logging := {
	"id": "STRATA-AWS-027",
	"severity": "high",
	"title": "CloudTrail trail with logging turned off",
	"remediation": "Remove enable_logging = false: a trail that does not log records nothing.",
	"checkov": "CKV_AWS_251",
}

deny_cloudtrail_logging contains f if {
	some [name, body] in resources("aws_cloudtrail")
	flag(body, ["enable_logging"], true) == "off"
	f := finding(cloudtrail_logging, addr("aws_cloudtrail", name), sprintf("aws_cloudtrail.%s sets enable_logging = false", [name]))
}

# ---------------------------------------------------------------------------------------
# STRATA-AWS-028: a log group encrypted with CloudWatch's own keys.

log_group_kms := {
	"id": "STRATA-AWS-028",
	"severity": "low",
	"title": "CloudWatch log group not encrypted with a KMS key",
	"remediation": "Set kms_key_id to a customer managed KMS key (its policy must allow the logs service principal).",
	"checkov": "CKV_AWS_158",
}

deny_log_group_kms contains f if {
	some [name, body] in resources("aws_cloudwatch_log_group")
	not body.kms_key_id
	f := finding(log_group_kms, addr("aws_cloudwatch_log_group", name), sprintf("aws_cloudwatch_log_group.%s has no kms_key_id", [name]))
}

# ---------------------------------------------------------------------------------------
# STRATA-AWS-029: a log group that expires logs within a year. An unset retention (or 0)
# keeps them forever, which passes.

log_group_retention := {
	"id": "STRATA-AWS-029",
	"severity": "low",
	"title": "CloudWatch log group keeps logs for less than a year",
	"remediation": "Set retention_in_days to 365 or more (or leave it unset to keep logs forever).",
	"checkov": "CKV_AWS_338",
}

deny_log_group_retention contains f if {
	some [name, body] in resources("aws_cloudwatch_log_group")
	days := number(body.retention_in_days)
	days > 0
	days < 365
	f := finding(log_group_retention, addr("aws_cloudwatch_log_group", name), sprintf("aws_cloudwatch_log_group.%s keeps logs for %d days", [name, days]))
}

unknown_log_group_retention contains f if {
	some [name, body] in resources("aws_cloudwatch_log_group")
	computed(body.retention_in_days)
	f := finding(log_group_retention, addr("aws_cloudwatch_log_group", name), sprintf("aws_cloudwatch_log_group.%s: retention_in_days is known only after apply", [name]))
}

# ---------------------------------------------------------------------------------------
# STRATA-AWS-030: a VPC whose traffic is not logged. The flow log may be anywhere in the
# module; one whose VPC is computed from something else makes it unknown.

vpc_flow_logs := {
	"id": "STRATA-AWS-030",
	"severity": "medium",
	"title": "VPC without flow logs",
	"remediation": "Add an aws_flow_log with vpc_id = aws_vpc.<name>.id, traffic_type = \"ALL\" and a log destination.",
	"checkov": "CKV2_AWS_11",
}

# Whether an aws_flow_log of the module names aws_vpc.<name>.
flow_logged(name) if {
	some [_, log] in resources("aws_flow_log")
	is_string(log.vpc_id)
	some suffix in [".", "["]
	contains(log.vpc_id, concat("", ["aws_vpc.", name, suffix]))
}

# A flow log whose VPC comes from elsewhere (a variable, a module output).
unresolved_flow_log if {
	some [_, log] in resources("aws_flow_log")
	computed(log.vpc_id)
	not regex.match(`aws_vpc\.[A-Za-z0-9_-]+[.\[]`, log.vpc_id)
}

deny_vpc_flow_logs contains f if {
	some [name, _] in resources("aws_vpc")
	not flow_logged(name)
	not unresolved_flow_log
	f := finding(vpc_flow_logs, addr("aws_vpc", name), sprintf("aws_vpc.%s has no aws_flow_log in this module", [name]))
}

unknown_vpc_flow_logs contains f if {
	some [name, _] in resources("aws_vpc")
	not flow_logged(name)
	unresolved_flow_log
	f := finding(vpc_flow_logs, addr("aws_vpc", name), sprintf("aws_vpc.%s: a flow log in this module names its VPC only after apply", [name]))
}
