package builtin.aws

import rego.v1

res(type, body) := {"resource": {type: {"x": body}}}

ids(fs) := {f.checkov | some f in fs}

# STRATA-AWS-016

test_lb_listener_http_denied if {
	fs := deny_lb_listener_https with input as res("aws_lb_listener", {"port": 80, "protocol": "HTTP", "default_action": {"type": "forward"}})
	count(fs) == 1
	some f in fs
	f.id == "STRATA-AWS-016"
	f.checkov == "CKV_AWS_2"
	f.resource == "aws_lb_listener.x"
}

test_lb_listener_without_protocol_or_certificate_is_http if {
	count(deny_lb_listener_https) == 1 with input as res("aws_alb_listener", {"port": 80})
}

test_lb_listener_https_redirect_and_tcp_pass if {
	redirect := {"protocol": "HTTP", "default_action": {"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", "status_code": "HTTP_301"}}}
	count(deny_lb_listener_https) == 0 with input as res("aws_lb_listener", redirect)
	count(deny_lb_listener_https) == 0 with input as res("aws_lb_listener", {"protocol": "HTTPS", "certificate_arn": "arn"})
	count(deny_lb_listener_https) == 0 with input as res("aws_lb_listener", {"protocol": "TCP"})
}

test_lb_listener_computed_protocol_is_unknown if {
	inp := res("aws_lb_listener", {"protocol": "${var.protocol}"})
	count(deny_lb_listener_https) == 0 with input as inp
	count(unknown_lb_listener_https) == 1 with input as inp
}

# STRATA-AWS-017

test_lb_default_tls_policy_denied if {
	fs := deny_lb_tls_policy with input as res("aws_lb_listener", {"protocol": "HTTPS", "certificate_arn": "arn"})
	count(fs) == 1
	ids(fs) == {"CKV_AWS_103"}
}

test_lb_old_tls_policy_denied if {
	count(deny_lb_tls_policy) == 1 with input as res("aws_lb_listener", {"protocol": "TLS", "ssl_policy": "ELBSecurityPolicy-TLS13-1-0-2021-06"})
}

test_lb_modern_tls_policy_passes if {
	count(deny_lb_tls_policy) == 0 with input as res("aws_lb_listener", {"protocol": "HTTPS", "ssl_policy": "ELBSecurityPolicy-TLS13-1-2-2021-06"})
	count(deny_lb_tls_policy) == 0 with input as res("aws_lb_listener", {"protocol": "HTTPS", "ssl_policy": "ELBSecurityPolicy-FS-1-2-Res-2020-10"})
	count(deny_lb_tls_policy) == 0 with input as res("aws_lb_listener", {"protocol": "HTTP"})
	count(unknown_lb_tls_policy) == 1 with input as res("aws_lb_listener", {"protocol": "HTTPS", "ssl_policy": "${var.policy}"})
}

# STRATA-AWS-018

test_elb_http_listener_denied if {
	inp := res("aws_elb", {"listener": [
		{"lb_port": 443, "lb_protocol": "https", "instance_port": 80, "instance_protocol": "http"},
		{"lb_port": 80, "lb_protocol": "http", "instance_port": 80, "instance_protocol": "http"},
	]})
	fs := deny_elb_listener_tls with input as inp
	count(fs) == 1
	ids(fs) == {"CKV_AWS_376"}
}

test_elb_ssl_listener_passes if {
	count(deny_elb_listener_tls) == 0 with input as res("aws_elb", {"listener": {"lb_port": 443, "lb_protocol": "SSL", "instance_port": 8443, "instance_protocol": "ssl"}})
}

# STRATA-AWS-019

test_alb_without_drop_invalid_headers_denied if {
	fs := deny_alb_drop_invalid_headers with input as res("aws_lb", {"internal": false})
	ids(fs) == {"CKV_AWS_131"}
}

test_alb_dropping_invalid_headers_and_nlb_pass if {
	count(deny_alb_drop_invalid_headers) == 0 with input as res("aws_alb", {"drop_invalid_header_fields": true})
	count(deny_alb_drop_invalid_headers) == 0 with input as res("aws_lb", {"load_balancer_type": "network"})
}

# STRATA-AWS-020

test_lb_without_access_logs_denied if {
	fs := deny_lb_access_logs with input as res("aws_lb", {"access_logs": {"bucket": "logs"}})
	ids(fs) == {"CKV_AWS_91"}
	ids(deny_lb_access_logs) == {"CKV_AWS_92"} with input as res("aws_elb", {"listener": {}})
	ids(deny_lb_access_logs) == {"CKV_AWS_92"} with input as res("aws_elb", {"access_logs": {"bucket": "logs", "enabled": false}})
}

test_lb_with_access_logs_passes if {
	count(deny_lb_access_logs) == 0 with input as res("aws_lb", {"access_logs": {"bucket": "logs", "enabled": true}})
	count(deny_lb_access_logs) == 0 with input as res("aws_elb", {"access_logs": {"bucket": "logs"}})
	count(deny_lb_access_logs) == 0 with input as res("aws_lb", {"load_balancer_type": "gateway"})
}

# STRATA-AWS-021

test_lb_without_deletion_protection_denied if {
	ids(deny_lb_deletion_protection) == {"CKV_AWS_150"} with input as res("aws_lb", {})
	count(deny_lb_deletion_protection) == 0 with input as res("aws_lb", {"enable_deletion_protection": true})
}

# STRATA-AWS-022

test_cloudfront_allow_all_denied if {
	inp := res("aws_cloudfront_distribution", {
		"default_cache_behavior": {"viewer_protocol_policy": "redirect-to-https"},
		"ordered_cache_behavior": [{"viewer_protocol_policy": "https-only"}, {"viewer_protocol_policy": "allow-all"}],
	})
	fs := deny_cloudfront_https with input as inp
	count(fs) == 1
	ids(fs) == {"CKV_AWS_34"}
}

test_cloudfront_https_only_passes if {
	count(deny_cloudfront_https) == 0 with input as res("aws_cloudfront_distribution", {"default_cache_behavior": {"viewer_protocol_policy": "https-only"}})
}

# STRATA-AWS-023

test_cloudfront_default_certificate_denied if {
	fs := deny_cloudfront_tls with input as res("aws_cloudfront_distribution", {"viewer_certificate": {"cloudfront_default_certificate": true, "minimum_protocol_version": "TLSv1.2_2021"}})
	ids(fs) == {"CKV_AWS_174"}
	count(deny_cloudfront_tls) == 1 with input as res("aws_cloudfront_distribution", {"viewer_certificate": {"acm_certificate_arn": "arn", "minimum_protocol_version": "TLSv1.1_2016"}})
}

test_cloudfront_tls12_passes if {
	count(deny_cloudfront_tls) == 0 with input as res("aws_cloudfront_distribution", {"viewer_certificate": {"acm_certificate_arn": "arn", "minimum_protocol_version": "TLSv1.2_2021"}})
}
