# IAM and resource policies: administrator access, wildcards, public principals, policies
# on users, and static credentials in the provider.
#
# Policies are read from JSON strings (a heredoc, or jsonencode() of literal values, which
# strata's shape gives as its JSON text) and from aws_iam_policy_document data sources. A
# policy computed from something else (a reference, a template with variables) is not
# read.
package builtin.aws

import rego.v1

# A policy JSON string, parsed.
policy_json(s) := json.unmarshal(s) if {
	literal(s)
	json.is_valid(s)
}

statement_list(doc) := doc.Statement if is_array(doc.Statement)

statement_list(doc) := [doc.Statement] if is_object(doc.Statement)

strings(x) := x if is_array(x)

strings(x) := [x] if is_string(x)

strings(x) := [] if x == null

# Principal "*" or {"AWS": ["*"], "Service": ...}: every principal named.
principal_names(p) := [p] if is_string(p)

principal_names(p) := [n | some _, v in p; some n in strings(v)] if is_object(p)

principal_names(p) := [] if p == null

# A JSON statement, normalised: {effect, actions, resources, principals, conditions}.
normal_statement(st) := {
	"effect": object.get(st, "Effect", "Deny"),
	"actions": strings(object.get(st, "Action", [])),
	"resources": strings(object.get(st, "Resource", [])),
	"principals": principal_names(object.get(st, "Principal", null)),
	"conditions": count(object.get(st, "Condition", {})) > 0,
}

# A policy document data source's statement block, normalised the same way.
document_statement(st) := {
	"effect": object.get(st, "effect", "Allow"),
	"actions": as_list(object.get(st, "actions", [])),
	"resources": as_list(object.get(st, "resources", [])),
	"principals": [id | some p in blocks(object.get(st, "principals", [])); some id in as_list(p.identifiers)],
	"conditions": count(blocks(object.get(st, "condition", []))) > 0,
}

identity_policy_types := ["aws_iam_policy", "aws_iam_role_policy", "aws_iam_user_policy", "aws_iam_group_policy"]

# Every statement of an identity policy: [address, kind, statement], kind "resource" for a
# policy resource and "document" for aws_iam_policy_document.
identity_statements contains [addr(type, name), "resource", normal_statement(st)] if {
	some type in identity_policy_types
	some [name, body] in resources(type)
	some st in statement_list(policy_json(body.policy))
}

identity_statements contains [sprintf("data.aws_iam_policy_document.%s", [name]), "document", document_statement(st)] if {
	some name, raw in input.data.aws_iam_policy_document
	some body in blocks(raw)
	some st in blocks(object.get(body, "statement", []))
}

allows(st) if st.effect == "Allow"

# ---------------------------------------------------------------------------------------
# STRATA-AWS-031: every action on every resource.

iam_admin_policy := {
	"id": "STRATA-AWS-031",
	"severity": "critical",
	"title": "IAM policy grants full administrative access",
	"remediation": "Grant the actions the principal needs on the resources it needs; keep administrator access to a break-glass role with AdministratorAccess and MFA.",
	"checkov_ids": ["CKV_AWS_62", "CKV_AWS_1"],
}

admin_checkov := {"resource": "CKV_AWS_62", "document": "CKV_AWS_1"}

deny_iam_admin_policy contains f if {
	some [address, kind, st] in identity_statements
	allows(st)
	some action in st.actions
	action in {"*", "*:*"}
	"*" in st.resources
	f := finding(object.union(iam_admin_policy, {"checkov": admin_checkov[kind]}), address, sprintf("%s allows every action (\"*\") on every resource", [address]))
}

# ---------------------------------------------------------------------------------------
# STRATA-AWS-032: every action (of every service).

iam_wildcard_action := {
	"id": "STRATA-AWS-032",
	"severity": "high",
	"title": "IAM policy allows every action",
	"remediation": "List the actions the principal needs (\"s3:GetObject\", ...) instead of \"*\".",
	"checkov_ids": ["CKV_AWS_63", "CKV_AWS_49"],
}

wildcard_checkov := {"resource": "CKV_AWS_63", "document": "CKV_AWS_49"}

deny_iam_wildcard_action contains f if {
	some [address, kind, st] in identity_statements
	allows(st)
	some action in st.actions
	action in {"*", "*:*"}
	f := finding(object.union(iam_wildcard_action, {"checkov": wildcard_checkov[kind]}), address, sprintf("%s allows the action \"*\"", [address]))
}

# ---------------------------------------------------------------------------------------
# STRATA-AWS-033: permissions given to a user directly.

iam_user_policy := {
	"id": "STRATA-AWS-033",
	"severity": "low",
	"title": "IAM policy attached directly to a user",
	"remediation": "Attach policies to a group or role and make the user a member (or let people assume roles through SSO).",
	"checkov": "CKV_AWS_40",
}

deny_iam_user_policy contains f if {
	some type in ["aws_iam_user_policy", "aws_iam_user_policy_attachment"]
	some [name, _] in resources(type)
	f := finding(iam_user_policy, addr(type, name), sprintf("%s gives a user permissions directly", [addr(type, name)]))
}

deny_iam_user_policy contains f if {
	some [name, body] in resources("aws_iam_policy_attachment")
	count(as_list(object.get(body, "users", []))) > 0
	f := finding(iam_user_policy, addr("aws_iam_policy_attachment", name), sprintf("aws_iam_policy_attachment.%s attaches a policy to users", [name]))
}

# ---------------------------------------------------------------------------------------
# STRATA-AWS-034: a role that anyone may assume.

iam_trust_any_principal := {
	"id": "STRATA-AWS-034",
	"severity": "critical",
	"title": "IAM role can be assumed by any principal",
	"remediation": "Name the accounts, roles or services that may assume the role in the trust policy's Principal, or add a Condition (sts:ExternalId, aws:PrincipalOrgID, ...).",
	"checkov": "CKV_AWS_60",
}

deny_iam_trust_any_principal contains f if {
	some [name, body] in resources("aws_iam_role")
	some raw in statement_list(policy_json(body.assume_role_policy))
	st := normal_statement(raw)
	allows(st)
	"*" in st.principals
	not st.conditions
	f := finding(iam_trust_any_principal, addr("aws_iam_role", name), sprintf("aws_iam_role.%s trusts every principal (\"*\") without a condition", [name]))
}

# ---------------------------------------------------------------------------------------
# STRATA-AWS-035: the AWS managed AdministratorAccess policy attached.

iam_administrator_access := {
	"id": "STRATA-AWS-035",
	"severity": "high",
	"title": "AdministratorAccess attached to a role, user or group",
	"remediation": "Attach a policy with the permissions needed; keep AdministratorAccess to a break-glass role with MFA.",
	"checkov": "CKV_AWS_274",
}

administrator_access(arn) if {
	literal(arn)
	endswith(arn, ":policy/AdministratorAccess")
}

attachment_types := ["aws_iam_role_policy_attachment", "aws_iam_user_policy_attachment", "aws_iam_group_policy_attachment", "aws_iam_policy_attachment"]

deny_iam_administrator_access contains f if {
	some type in attachment_types
	some [name, body] in resources(type)
	administrator_access(body.policy_arn)
	f := finding(iam_administrator_access, addr(type, name), sprintf("%s attaches AdministratorAccess", [addr(type, name)]))
}

deny_iam_administrator_access contains f if {
	some [name, body] in resources("aws_iam_role")
	some arn in as_list(object.get(body, "managed_policy_arns", []))
	administrator_access(arn)
	f := finding(iam_administrator_access, addr("aws_iam_role", name), sprintf("aws_iam_role.%s has AdministratorAccess in managed_policy_arns", [name]))
}

# ---------------------------------------------------------------------------------------
# STRATA-AWS-036 .. 038: resource policies open to everyone (no condition).

kms_key_policy_public := {
	"id": "STRATA-AWS-036",
	"severity": "critical",
	"title": "KMS key policy allows any principal",
	"remediation": "Name the account root or roles as Principal; a \"*\" principal needs a Condition such as kms:CallerAccount or aws:PrincipalOrgID.",
	"checkov": "CKV_AWS_33",
}

ecr_public_policy := {
	"id": "STRATA-AWS-037",
	"severity": "high",
	"title": "ECR repository policy allows any principal",
	"remediation": "Name the accounts or roles that may pull in the repository policy, or add an aws:PrincipalOrgID condition.",
	"checkov": "CKV_AWS_32",
}

sqs_public_policy := {
	"id": "STRATA-AWS-038",
	"severity": "high",
	"title": "SQS queue policy allows any principal",
	"remediation": "Name the principals or services that may use the queue, or restrict a \"*\" principal with aws:SourceArn or aws:SourceAccount.",
	"checkov": "CKV_AWS_168",
}

# A policy attribute with an Allow statement for "*" and no condition.
public_policy(text) if {
	some raw in statement_list(policy_json(text))
	st := normal_statement(raw)
	allows(st)
	"*" in st.principals
	not st.conditions
}

deny_kms_key_policy_public contains f if {
	some [name, body] in resources("aws_kms_key")
	public_policy(body.policy)
	f := finding(kms_key_policy_public, addr("aws_kms_key", name), sprintf("aws_kms_key.%s: its policy allows any principal (\"*\") without a condition", [name]))
}

deny_ecr_public_policy contains f if {
	some [name, body] in resources("aws_ecr_repository_policy")
	public_policy(body.policy)
	f := finding(ecr_public_policy, addr("aws_ecr_repository_policy", name), sprintf("aws_ecr_repository_policy.%s allows any principal (\"*\") without a condition", [name]))
}

deny_sqs_public_policy contains f if {
	some type in ["aws_sqs_queue_policy", "aws_sqs_queue"]
	some [name, body] in resources(type)
	public_policy(body.policy)
	f := finding(sqs_public_policy, addr(type, name), sprintf("%s: its policy allows any principal (\"*\") without a condition", [addr(type, name)]))
}

# ---------------------------------------------------------------------------------------
# STRATA-AWS-039: access keys written into the provider block.

provider_static_credentials := {
	"id": "STRATA-AWS-039",
	"severity": "critical",
	"title": "AWS provider with static credentials",
	"remediation": "Remove access_key and secret_key from the provider; use a profile, environment variables, SSO or an assumed role. Rotate the key that was committed.",
	"checkov": "CKV_AWS_41",
}

deny_provider_static_credentials contains f if {
	some body in blocks(input.provider.aws)
	some key in ["access_key", "secret_key"]
	literal(body[key])
	f := object.union(
		finding(provider_static_credentials, "provider.aws", sprintf("provider \"aws\" sets %s to a literal", [key])),
		{"attribute": key},
	)
}
