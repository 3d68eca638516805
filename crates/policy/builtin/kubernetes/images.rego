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

# ---------------------------------------------------------------------------------------
# STRATA-K8S-018: image referenced by tag, not digest.

image_digest := {
	"id": "STRATA-K8S-018",
	"severity": "low",
	"title": "Container image not referenced by digest",
	"remediation": "Reference the image by digest (app:1.4.2@sha256:...), so the image that was scanned is the one that runs; tags can be moved.",
	"checkov": "CKV_K8S_43",
}

deny_image_digest contains f if {
	some c in containers
	image := c.spec.image
	not contains(image, "@sha256:")
	not placeholder(image)
	f := finding(image_digest, sprintf("%s uses %s, which is not pinned to a digest", [c.label, image]))
}

# ---------------------------------------------------------------------------------------
# STRATA-K8S-019: a tag pulled once and then trusted from the node's cache.

image_pull_policy := {
	"id": "STRATA-K8S-019",
	"severity": "low",
	"title": "Container image pull policy is not Always",
	"remediation": "Set imagePullPolicy: Always (or pin the image by digest), so a pod never runs a stale or tampered image cached on the node under the same tag.",
	"checkov": "CKV_K8S_15",
}

# Kubernetes' default: Always for :latest or no tag, IfNotPresent otherwise.
pull_policy(c) := c.imagePullPolicy

pull_policy(c) := "Always" if {
	not c.imagePullPolicy
	tag(c.image) in {"", "latest"}
}

pull_policy(c) := "IfNotPresent" if {
	not c.imagePullPolicy
	not tag(c.image) in {"", "latest"}
}

deny_image_pull_policy contains f if {
	some c in containers
	not contains(c.spec.image, "@sha256:")
	not placeholder(c.spec.image)
	policy := pull_policy(c.spec)
	policy != "Always"
	f := finding(image_pull_policy, sprintf("%s pulls %s with imagePullPolicy %s", [c.label, c.spec.image, policy]))
}
