# Container images: a fixed tag or a digest.
package builtin.kubernetes

import rego.v1

# ---------------------------------------------------------------------------------------
# STRATA-K8S-011: image with the latest tag, or with neither tag nor digest.

image_tag := {
	"id": "STRATA-K8S-011",
	"severity": "high",
	"title": "Container image not pinned to a tag or digest",
	"remediation": "Reference a versioned tag (app:1.4.2) or, better, a digest (app@sha256:...).",
	"checkov": "CKV_K8S_14",
}

# The tag of an image reference without a digest; "" when it has none. A colon before the
# last slash belongs to a registry port (registry:5000/app).
tag(image) := t if {
	parts := split(last_segment(image), ":")
	count(parts) == 2
	t := parts[1]
}

tag(image) := "" if not contains(last_segment(image), ":")

last_segment(image) := segments[count(segments) - 1] if segments := split(image, "/")

# Left by a template that was not rendered: ${TAG}, {{ .Values.tag }}, $(TAG).
placeholder(image) if regex.match(`\$\{|\{\{|\$\(`, image)

deny_image_tag contains f if {
	some c in containers
	image := c.spec.image
	not contains(image, "@")
	not placeholder(image)
	tag(image) in {"", "latest"}
	f := finding(image_tag, sprintf("%s uses %s, which is not pinned (no tag, or latest)", [c.label, image]))
}

unknown_image_tag contains f if {
	some c in containers
	image := c.spec.image
	not contains(image, "@")
	placeholder(image)
	f := finding(image_tag, sprintf("%s uses %s, whose tag is not known until the template is rendered", [c.label, image]))
}
