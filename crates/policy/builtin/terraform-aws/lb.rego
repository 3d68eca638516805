# Load balancers and CloudFront: plain HTTP, old TLS, header handling, access logs and
# deletion protection.
package builtin.aws

import rego.v1

lb_listener_types := ["aws_lb_listener", "aws_alb_listener"]

lb_types := ["aws_lb", "aws_alb"]

# A listener's protocol, upper-cased; an ALB listener without one serves HTTP (the
# provider's default), unless it has a certificate.
listener_protocol(body) := upper(body.protocol) if {
	is_string(body.protocol)
	not computed(body.protocol)
}

listener_protocol(body) := "HTTPS" if {
	not body.protocol
	body.certificate_arn
}

listener_protocol(body) := "HTTP" if {
	not body.protocol
	not body.certificate_arn
}

# A listener whose default action only redirects to HTTPS.
redirects_to_https(body) if {
	some action in blocks(object.get(body, "default_action", []))
	action.type == "redirect"
	some r in blocks(action.redirect)
	upper(object.get(r, "protocol", "")) == "HTTPS"
}

# ---------------------------------------------------------------------------------------
# STRATA-AWS-016: a listener that serves plain HTTP.

lb_listener_https := {
	"id": "STRATA-AWS-016",
	"severity": "high",
	"title": "Load balancer listener serves plain HTTP",
	"remediation": "Serve HTTPS (protocol = \"HTTPS\" with a certificate_arn), or make the HTTP listener's default_action a redirect to HTTPS.",
	"checkov": "CKV_AWS_2",
}

deny_lb_listener_https contains f if {
	some type in lb_listener_types
	some [name, body] in resources(type)
	listener_protocol(body) == "HTTP"
	not redirects_to_https(body)
	f := finding(lb_listener_https, addr(type, name), sprintf("%s serves plain HTTP and does not redirect to HTTPS", [addr(type, name)]))
}

unknown_lb_listener_https contains f if {
	some type in lb_listener_types
	some [name, body] in resources(type)
	computed(body.protocol)
	f := finding(lb_listener_https, addr(type, name), sprintf("%s: protocol is %s, known only after apply", [addr(type, name), body.protocol]))
}

# ---------------------------------------------------------------------------------------
# STRATA-AWS-017: a TLS listener whose security policy still accepts TLS 1.0 or 1.1.

lb_tls_policy := {
	"id": "STRATA-AWS-017",
	"severity": "medium",
	"title": "Load balancer listener accepts TLS older than 1.2",
	"remediation": "Set ssl_policy to a TLS 1.2+ policy such as ELBSecurityPolicy-TLS13-1-2-2021-06 (the default, ELBSecurityPolicy-2016-08, accepts TLS 1.0).",
	"checkov": "CKV_AWS_103",
}

# Policies whose names say TLS 1.2 or later is the minimum.
modern_tls_policy(policy) if regex.match(`(TLS-1-2|FS-1-2|TLS13-1-2|TLS13-1-3)`, policy)

deny_lb_tls_policy contains f if {
	some type in lb_listener_types
	some [name, body] in resources(type)
	listener_protocol(body) in {"HTTPS", "TLS"}
	policy := object.get(body, "ssl_policy", "ELBSecurityPolicy-2016-08")
	not computed(policy)
	not modern_tls_policy(policy)
	f := finding(lb_tls_policy, addr(type, name), sprintf("%s uses ssl_policy %q, which accepts TLS 1.0", [addr(type, name), policy]))
}

unknown_lb_tls_policy contains f if {
	some type in lb_listener_types
	some [name, body] in resources(type)
	listener_protocol(body) in {"HTTPS", "TLS"}
	computed(body.ssl_policy)
	f := finding(lb_tls_policy, addr(type, name), sprintf("%s: ssl_policy is known only after apply", [addr(type, name)]))
}

# ---------------------------------------------------------------------------------------
# STRATA-AWS-018: a classic load balancer listener without TLS.

elb_listener_tls := {
	"id": "STRATA-AWS-018",
	"severity": "high",
	"title": "Classic load balancer listener without TLS",
	"remediation": "Use lb_protocol \"https\" or \"ssl\" with an ssl_certificate_id, or move to an ALB or NLB with a TLS listener.",
	"checkov": "CKV_AWS_376",
}

deny_elb_listener_tls contains f if {
	some [name, body] in resources("aws_elb")
	some listener in blocks(object.get(body, "listener", []))
	protocol := lower(object.get(listener, "lb_protocol", "http"))
	protocol in {"http", "tcp"}
	f := finding(elb_listener_tls, addr("aws_elb", name), sprintf("aws_elb.%s listens with %s on port %v", [name, protocol, object.get(listener, "lb_port", "?")]))
}

# ---------------------------------------------------------------------------------------
# STRATA-AWS-019: an ALB that forwards malformed HTTP headers.

alb_drop_invalid_headers := {
	"id": "STRATA-AWS-019",
	"severity": "low",
	"title": "Application load balancer forwards invalid HTTP headers",
	"remediation": "Set drop_invalid_header_fields = true, so headers that are not valid HTTP never reach the targets (request smuggling).",
	"checkov": "CKV_AWS_131",
}

application_lb(body) if object.get(body, "load_balancer_type", "application") == "application"

deny_alb_drop_invalid_headers contains f if {
	some type in lb_types
	some [name, body] in resources(type)
	application_lb(body)
	flag(body, ["drop_invalid_header_fields"], false) == "off"
	f := finding(alb_drop_invalid_headers, addr(type, name), sprintf("%s does not set drop_invalid_header_fields = true", [addr(type, name)]))
}

# ---------------------------------------------------------------------------------------
# STRATA-AWS-020: a load balancer without access logs.

lb_access_logs := {
	"id": "STRATA-AWS-020",
	"severity": "low",
	"title": "Load balancer without access logs",
	"remediation": "Add access_logs { bucket = ..., enabled = true } (aws_lb and aws_alb log nothing until enabled is true).",
	"checkov_ids": ["CKV_AWS_91", "CKV_AWS_92"],
}

deny_lb_access_logs contains f if {
	some type in lb_types
	some [name, body] in resources(type)
	object.get(body, "load_balancer_type", "application") != "gateway"
	flag(first(body, "access_logs"), ["enabled"], false) == "off"
	f := finding(object.union(lb_access_logs, {"checkov": "CKV_AWS_91"}), addr(type, name), sprintf("%s does not enable access_logs", [addr(type, name)]))
}

deny_lb_access_logs contains f if {
	some [name, body] in resources("aws_elb")
	logs := first(body, "access_logs")
	not logs.bucket
	f := finding(object.union(lb_access_logs, {"checkov": "CKV_AWS_92"}), addr("aws_elb", name), sprintf("aws_elb.%s has no access_logs", [name]))
}

deny_lb_access_logs contains f if {
	some [name, body] in resources("aws_elb")
	flag(first(body, "access_logs"), ["enabled"], true) == "off"
	f := finding(object.union(lb_access_logs, {"checkov": "CKV_AWS_92"}), addr("aws_elb", name), sprintf("aws_elb.%s turns its access_logs off", [name]))
}

# ---------------------------------------------------------------------------------------
# STRATA-AWS-021: a load balancer that can be deleted by accident.

lb_deletion_protection := {
	"id": "STRATA-AWS-021",
	"severity": "low",
	"title": "Load balancer without deletion protection",
	"remediation": "Set enable_deletion_protection = true.",
	"checkov": "CKV_AWS_150",
}

deny_lb_deletion_protection contains f if {
	some type in lb_types
	some [name, body] in resources(type)
	flag(body, ["enable_deletion_protection"], false) == "off"
	f := finding(lb_deletion_protection, addr(type, name), sprintf("%s does not set enable_deletion_protection = true", [addr(type, name)]))
}

# ---------------------------------------------------------------------------------------
# STRATA-AWS-022: a CloudFront behaviour that serves plain HTTP.

cloudfront_https := {
	"id": "STRATA-AWS-022",
	"severity": "high",
	"title": "CloudFront distribution serves plain HTTP",
	"remediation": "Set viewer_protocol_policy = \"redirect-to-https\" or \"https-only\" on every cache behaviour.",
	"checkov": "CKV_AWS_34",
}

deny_cloudfront_https contains f if {
	some [name, body] in resources("aws_cloudfront_distribution")
	some key in ["default_cache_behavior", "ordered_cache_behavior"]
	some behavior in blocks(object.get(body, key, []))
	behavior.viewer_protocol_policy == "allow-all"
	f := finding(cloudfront_https, addr("aws_cloudfront_distribution", name), sprintf("aws_cloudfront_distribution.%s: a %s allows plain HTTP (viewer_protocol_policy = \"allow-all\")", [name, key]))
}

# ---------------------------------------------------------------------------------------
# STRATA-AWS-023: a CloudFront viewer certificate that accepts TLS older than 1.2.

cloudfront_tls := {
	"id": "STRATA-AWS-023",
	"severity": "medium",
	"title": "CloudFront distribution accepts TLS older than 1.2",
	"remediation": "Use a custom certificate (acm_certificate_arn) with minimum_protocol_version = \"TLSv1.2_2021\"; the default CloudFront certificate allows TLS 1.0.",
	"checkov": "CKV_AWS_174",
}

# The oldest TLS version viewers may use: the default certificate allows TLS 1.0 whatever
# minimum_protocol_version says.
viewer_min_tls(cert) := "TLSv1" if enabled(object.get(cert, "cloudfront_default_certificate", false))

viewer_min_tls(cert) := object.get(cert, "minimum_protocol_version", "TLSv1") if {
	not enabled(object.get(cert, "cloudfront_default_certificate", false))
}

deny_cloudfront_tls contains f if {
	some [name, body] in resources("aws_cloudfront_distribution")
	version := viewer_min_tls(first(body, "viewer_certificate"))
	not computed(version)
	not startswith(version, "TLSv1.2")
	f := finding(cloudfront_tls, addr("aws_cloudfront_distribution", name), sprintf("aws_cloudfront_distribution.%s allows TLS before 1.2 (%s)", [name, version]))
}
