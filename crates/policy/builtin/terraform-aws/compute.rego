# EKS clusters, Lambda functions and ECR repositories.
package builtin.aws

import rego.v1

# ---------------------------------------------------------------------------------------
# STRATA-AWS-040: a cluster API reachable from the internet.

eks_public_endpoint := {
	"id": "STRATA-AWS-040",
	"severity": "medium",
	"title": "EKS cluster API endpoint is public",
	"remediation": "Set vpc_config { endpoint_public_access = false, endpoint_private_access = true } and reach the API from inside the VPC (VPN, bastion, CI runners in the VPC).",
	"checkov": "CKV_AWS_39",
}

deny_eks_public_endpoint contains f if {
	some [name, body] in resources("aws_eks_cluster")
	flag(first(body, "vpc_config"), ["endpoint_public_access"], true) == "on"
	f := finding(eks_public_endpoint, addr("aws_eks_cluster", name), sprintf("aws_eks_cluster.%s serves its API on a public endpoint (endpoint_public_access is not false)", [name]))
}

unknown_eks_public_endpoint contains f if {
	some [name, body] in resources("aws_eks_cluster")
	flag(first(body, "vpc_config"), ["endpoint_public_access"], true) == "computed"
	f := finding(eks_public_endpoint, addr("aws_eks_cluster", name), sprintf("aws_eks_cluster.%s: endpoint_public_access is known only after apply", [name]))
}

# ---------------------------------------------------------------------------------------
# STRATA-AWS-041: a public cluster API open to every address.

eks_public_cidrs := {
	"id": "STRATA-AWS-041",
	"severity": "high",
	"title": "EKS public API endpoint open to the whole internet",
	"remediation": "Set vpc_config.public_access_cidrs to the ranges that need the API (the default is 0.0.0.0/0), or turn the public endpoint off.",
	"checkov": "CKV_AWS_38",
}

deny_eks_public_cidrs contains f if {
	some [name, body] in resources("aws_eks_cluster")
	vpc := first(body, "vpc_config")
	flag(vpc, ["endpoint_public_access"], true) == "on"
	some cidr in as_list(object.get(vpc, "public_access_cidrs", ["0.0.0.0/0"]))
	cidr in world_cidrs
	f := finding(eks_public_cidrs, addr("aws_eks_cluster", name), sprintf("aws_eks_cluster.%s accepts API calls from %s", [name, cidr]))
}

# ---------------------------------------------------------------------------------------
# STRATA-AWS-042: Kubernetes secrets stored without envelope encryption.

eks_secrets_encryption := {
	"id": "STRATA-AWS-042",
	"severity": "medium",
	"title": "EKS cluster does not encrypt Kubernetes secrets with KMS",
	"remediation": "Add encryption_config { resources = [\"secrets\"], provider { key_arn = aws_kms_key.<name>.arn } }.",
	"checkov": "CKV_AWS_58",
}

encrypts_secrets(body) if {
	some config in blocks(object.get(body, "encryption_config", []))
	"secrets" in as_list(object.get(config, "resources", []))
}

deny_eks_secrets_encryption contains f if {
	some [name, body] in resources("aws_eks_cluster")
	not encrypts_secrets(body)
	f := finding(eks_secrets_encryption, addr("aws_eks_cluster", name), sprintf("aws_eks_cluster.%s has no encryption_config for secrets", [name]))
}

# ---------------------------------------------------------------------------------------
# STRATA-AWS-043: control plane logs not all enabled.

eks_control_plane_logging := {
	"id": "STRATA-AWS-043",
	"severity": "low",
	"title": "EKS control plane logging incomplete",
	"remediation": "Set enabled_cluster_log_types = [\"api\", \"audit\", \"authenticator\", \"controllerManager\", \"scheduler\"].",
	"checkov": "CKV_AWS_37",
}

control_plane_logs := ["api", "audit", "authenticator", "controllerManager", "scheduler"]

deny_eks_control_plane_logging contains f if {
	some [name, body] in resources("aws_eks_cluster")
	types := object.get(body, "enabled_cluster_log_types", [])
	is_array(types)
	missing := [t | some t in control_plane_logs; not t in types]
	count(missing) > 0
	f := finding(eks_control_plane_logging, addr("aws_eks_cluster", name), sprintf("aws_eks_cluster.%s does not log %s", [name, concat(", ", missing)]))
}

# ---------------------------------------------------------------------------------------
# STRATA-AWS-044: a function without active tracing.

lambda_tracing := {
	"id": "STRATA-AWS-044",
	"severity": "low",
	"title": "Lambda function without X-Ray tracing",
	"remediation": "Add tracing_config { mode = \"Active\" }.",
	"checkov": "CKV_AWS_50",
}

deny_lambda_tracing contains f if {
	some [name, body] in resources("aws_lambda_function")
	mode := object.get(first(body, "tracing_config"), "mode", "PassThrough")
	not computed(mode)
	mode != "Active"
	f := finding(lambda_tracing, addr("aws_lambda_function", name), sprintf("aws_lambda_function.%s does not trace (tracing_config.mode is %q)", [name, mode]))
}

# ---------------------------------------------------------------------------------------
# STRATA-AWS-045: environment variables encrypted with Lambda's own key.

lambda_env_kms := {
	"id": "STRATA-AWS-045",
	"severity": "low",
	"title": "Lambda environment variables not encrypted with a KMS key",
	"remediation": "Set kms_key_arn to a customer managed key (and keep secrets in Secrets Manager or SSM rather than in variables).",
	"checkov": "CKV_AWS_173",
}

deny_lambda_env_kms contains f if {
	some [name, body] in resources("aws_lambda_function")
	count(object.get(first(body, "environment"), "variables", {})) > 0
	not body.kms_key_arn
	f := finding(lambda_env_kms, addr("aws_lambda_function", name), sprintf("aws_lambda_function.%s has environment variables and no kms_key_arn", [name]))
}

# ---------------------------------------------------------------------------------------
# STRATA-AWS-046: a function URL anyone can call.

lambda_url_auth := {
	"id": "STRATA-AWS-046",
	"severity": "high",
	"title": "Lambda function URL without authentication",
	"remediation": "Set authorization_type = \"AWS_IAM\", or put the function behind API Gateway with an authorizer.",
	"checkov": "CKV_AWS_258",
}

deny_lambda_url_auth contains f if {
	some [name, body] in resources("aws_lambda_function_url")
	body.authorization_type == "NONE"
	f := finding(lambda_url_auth, addr("aws_lambda_function_url", name), sprintf("aws_lambda_function_url.%s has authorization_type = \"NONE\"", [name]))
}

# ---------------------------------------------------------------------------------------
# STRATA-AWS-047: a function any principal may invoke.

lambda_public_permission := {
	"id": "STRATA-AWS-047",
	"severity": "high",
	"title": "Lambda function can be invoked by anyone",
	"remediation": "Set principal to the account or service that invokes the function, with source_arn or source_account.",
	"checkov": "CKV_AWS_301",
}

deny_lambda_public_permission contains f if {
	some [name, body] in resources("aws_lambda_permission")
	body.principal == "*"
	f := finding(lambda_public_permission, addr("aws_lambda_permission", name), sprintf("aws_lambda_permission.%s grants %s to principal \"*\"", [name, object.get(body, "action", "invocation")]))
}

# ---------------------------------------------------------------------------------------
# STRATA-AWS-048: images not scanned when pushed.

ecr_scan_on_push := {
	"id": "STRATA-AWS-048",
	"severity": "medium",
	"title": "ECR repository does not scan images on push",
	"remediation": "Add image_scanning_configuration { scan_on_push = true } (or enable enhanced scanning for the registry).",
	"checkov": "CKV_AWS_163",
}

deny_ecr_scan_on_push contains f if {
	some [name, body] in resources("aws_ecr_repository")
	flag(first(body, "image_scanning_configuration"), ["scan_on_push"], false) == "off"
	f := finding(ecr_scan_on_push, addr("aws_ecr_repository", name), sprintf("aws_ecr_repository.%s does not set image_scanning_configuration.scan_on_push = true", [name]))
}

# ---------------------------------------------------------------------------------------
# STRATA-AWS-049: tags that can be moved to another image.

ecr_immutable_tags := {
	"id": "STRATA-AWS-049",
	"severity": "medium",
	"title": "ECR repository allows tags to be overwritten",
	"remediation": "Set image_tag_mutability = \"IMMUTABLE\", so a tag always names the image that was scanned and deployed.",
	"checkov": "CKV_AWS_51",
}

deny_ecr_immutable_tags contains f if {
	some [name, body] in resources("aws_ecr_repository")
	mutability := object.get(body, "image_tag_mutability", "MUTABLE")
	not computed(mutability)
	mutability != "IMMUTABLE"
	f := finding(ecr_immutable_tags, addr("aws_ecr_repository", name), sprintf("aws_ecr_repository.%s has image_tag_mutability %q", [name, mutability]))
}

# ---------------------------------------------------------------------------------------
# STRATA-AWS-050: images encrypted with ECR's default AES key.

ecr_kms := {
	"id": "STRATA-AWS-050",
	"severity": "low",
	"title": "ECR repository not encrypted with a KMS key",
	"remediation": "Add encryption_configuration { encryption_type = \"KMS\", kms_key = aws_kms_key.<name>.arn }.",
	"checkov": "CKV_AWS_136",
}

deny_ecr_kms contains f if {
	some [name, body] in resources("aws_ecr_repository")
	object.get(first(body, "encryption_configuration"), "encryption_type", "AES256") == "AES256"
	f := finding(ecr_kms, addr("aws_ecr_repository", name), sprintf("aws_ecr_repository.%s is encrypted with AES256, not KMS", [name]))
}
