# Module calls: every source outside this repository is pinned to a version or commit.
package builtin.terraform

import rego.v1

module_calls contains [name, body] if {
	some name, raw in input.module
	some body in blocks(raw)
}

# Local sources (./ and ../) live in this repository and move with it: they are neither
# git nor registry sources below, so no rule applies to them. Other remote sources (http
# archives, s3::, gcs::) are not checked.

git_source(source) if regex.match(`^(git::|git@|hg::|github\.com/|bitbucket\.org/)`, source)

git_source(source) if regex.match(`\.git($|/|\?)`, source)

# <namespace>/<name>/<provider>, optionally prefixed by a registry host and followed by
# //<subdirectory>.
registry_source(source) if {
	regex.match(`^([A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+(:[0-9]+)?/)?[A-Za-z0-9_-]+/[A-Za-z0-9_-]+/[A-Za-z0-9_-]+(//.*)?$`, source)
	not git_source(source)
}

# ---------------------------------------------------------------------------------------
# STRATA-TF-001: registry module without a pinned version.

module_registry_version := {
	"id": "STRATA-TF-001",
	"severity": "medium",
	"title": "Registry module without a pinned version",
	"remediation": "Set version to an exact release (\"1.4.2\") or a bounded constraint (\"~> 1.4.0\").",
	"checkov": "CKV_TF_2",
}

# A constraint with only a lower bound (">= 1.0") follows every future release.
open_ended(version) if regex.match(`^[ ]*>=?[ ]*[0-9][0-9A-Za-z.+-]*[ ]*$`, version)

deny_module_registry_version contains f if {
	some [name, call] in module_calls
	registry_source(call.source)
	not call.version
	f := finding(
		module_registry_version,
		sprintf("module.%s", [name]),
		sprintf("module.%s uses %s without a version", [name, call.source]),
	)
}

deny_module_registry_version contains f if {
	some [name, call] in module_calls
	registry_source(call.source)
	open_ended(call.version)
	f := finding(
		module_registry_version,
		sprintf("module.%s", [name]),
		sprintf("module.%s accepts any future version of %s (version %q has no upper bound)", [name, call.source, call.version]),
	)
}

# ---------------------------------------------------------------------------------------
# STRATA-TF-002: git module without ?ref=, or with a ref that names a branch.

module_git_ref := {
	"id": "STRATA-TF-002",
	"severity": "medium",
	"title": "Git module not pinned to a tag or commit",
	"remediation": "Add ?ref=<tag> (v1.2.0) or ?ref=<commit sha> to the source; a branch moves under you.",
	"checkov": "CKV_TF_2",
}

source_ref(source) := trim_prefix(param, "ref=") if {
	parts := split(source, "?")
	count(parts) == 2
	some param in split(parts[1], "&")
	startswith(param, "ref=")
}

# A commit (7 to 40 hex digits) or a tag that carries a version number.
pinned_ref(ref) if regex.match(`^[0-9a-f]{7,40}$`, ref)

pinned_ref(ref) if regex.match(`[0-9]+\.[0-9]+`, ref)

pinned_ref(ref) if regex.match(`^v[0-9]+$`, ref)

deny_module_git_ref contains f if {
	some [name, call] in module_calls
	git_source(call.source)
	not source_ref(call.source)
	f := finding(
		module_git_ref,
		sprintf("module.%s", [name]),
		sprintf("module.%s: source %s has no ?ref=", [name, call.source]),
	)
}

deny_module_git_ref contains f if {
	some [name, call] in module_calls
	git_source(call.source)
	ref := source_ref(call.source)
	not pinned_ref(ref)
	f := finding(
		module_git_ref,
		sprintf("module.%s", [name]),
		sprintf("module.%s: ref=%s is neither a version tag nor a commit", [name, ref]),
	)
}

# ---------------------------------------------------------------------------------------
# STRATA-TF-012: git module pinned to a tag, which can be moved, rather than a commit.

module_commit_hash := {
	"id": "STRATA-TF-012",
	"severity": "low",
	"title": "Git module not pinned to a commit",
	"remediation": "Use ?ref=<full commit sha> (keep the tag in a comment); a tag can be deleted and pushed again to another commit.",
	"checkov": "CKV_TF_1",
}

deny_module_commit_hash contains f if {
	some [name, call] in module_calls
	git_source(call.source)
	ref := source_ref(call.source)
	not regex.match(`^[0-9a-f]{40}$`, ref)
	f := finding(
		module_commit_hash,
		sprintf("module.%s", [name]),
		sprintf("module.%s: ref=%s is not a full commit hash", [name, ref]),
	)
}
