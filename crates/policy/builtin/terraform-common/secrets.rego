# Plaintext secrets in a Terraform module: known credential formats anywhere, literal values
# in secret-named attributes, and long random-looking literals.
#
# Every string of the module is read, whatever block it sits in. Values encrypted with SOPS
# (ENC[AES256_GCM,...]) are fine. Messages name where a secret is, never its value.
package builtin.terraform

import rego.v1

# ---------------------------------------------------------------------------------------
# Every string in the input with its path, at any depth.

# A plan or state (terraform show -json, which has a format_version) is not read: its
# sensitive values are redacted, and its provider-generated values would only be noise.
string_values contains [p, v] if {
	not input.format_version
	walk(input, [p, v])
	count(p) > 0
	is_string(v)
	not sops_encrypted(v)
}

sops_encrypted(v) if startswith(v, "ENC[AES256_GCM,")

# The object keys along a path (array indices dropped).
keys_of(p) := [k | some k in p; is_string(k)]

# The Terraform address that holds a path: aws_db_instance.main, module.vpc, var.x, ...
address(p) := sprintf("%s.%s", [k[1], k[2]]) if {
	k := keys_of(p)
	k[0] == "resource"
}

address(p) := sprintf("data.%s.%s", [k[1], k[2]]) if {
	k := keys_of(p)
	k[0] == "data"
}

address(p) := sprintf("%s.%s", [short, k[1]]) if {
	k := keys_of(p)
	short := {"module": "module", "provider": "provider", "variable": "var", "output": "output", "locals": "local"}[k[0]]
	not indexed_provider(p)
}

# One of several blocks of a provider (its aliases): `provider.aws[1]` is the second.
address(p) := sprintf("provider.%s[%d]", [p[1], p[2]]) if indexed_provider(p)

indexed_provider(p) if {
	p[0] == "provider"
	is_number(p[2])
}

address(p) := k[0] if {
	k := keys_of(p)
	not k[0] in {"resource", "data", "module", "provider", "variable", "output", "locals"}
}

# The path as written: resource.aws_db_instance.main.password, ingress[1].description.
location(p) := concat("", [step |
	some i, k in p
	step := path_step(i, k)
])

path_step(_, k) := sprintf("[%d]", [k]) if is_number(k)

path_step(i, k) := k if {
	is_string(k)
	i == 0
}

path_step(i, k) := concat("", [".", k]) if {
	is_string(k)
	i > 0
}

# The last key along a path (`default` for a variable's default), for locating a finding.
last_key(p) := k[count(k) - 1] if k := keys_of(p)

# The name a value is stored under: the last key, or the variable's name for a default.
attribute(p) := name if {
	k := keys_of(p)
	k[0] == "variable"
	k[count(k) - 1] == "default"
	name := k[1]
}

attribute(p) := k[count(k) - 1] if {
	k := keys_of(p)
	not variable_default(k)
}

variable_default(k) if {
	k[0] == "variable"
	k[count(k) - 1] == "default"
}

# Cheap tests on the whole file, so that a rule walks every string only when the file
# may hold what it looks for.
file_text := json.marshal(input)

file_mentions(markers) if {
	some marker in markers
	contains(file_text, marker)
}

# ---------------------------------------------------------------------------------------
# Known credential formats (these match inside computed templates too).

# Each format is tried only when a cheap substring test finds its marker.
aws_access_key(v) if {
	some marker in ["AKIA", "ASIA"]
	contains(v, marker)
	regex.match(`(^|[^A-Z0-9])(AKIA|ASIA)[A-Z0-9]{16}([^A-Z0-9]|$)`, v)
}

private_key(v) if {
	contains(v, "PRIVATE KEY")
	regex.match(`-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----`, v)
}

github_token(v) if {
	some marker in ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"]
	contains(v, marker)
	regex.match(`(^|[^A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{36,}`, v)
}

github_token(v) if {
	contains(v, "github_pat_")
	regex.match(`(^|[^A-Za-z0-9_])github_pat_[A-Za-z0-9_]{22,}`, v)
}

slack_token(v) if {
	contains(v, "xox")
	regex.match(`(^|[^A-Za-z0-9])xox[abposr]-[A-Za-z0-9-]{10,}`, v)
}

slack_token(v) if {
	contains(v, "hooks.slack.com/")
	regex.match(`https://hooks\.slack\.com/(services|workflows)/[A-Za-z0-9_/]{20,}`, v)
}

known_credential(v) if aws_access_key(v)

known_credential(v) if private_key(v)

known_credential(v) if github_token(v)

known_credential(v) if slack_token(v)

# ---------------------------------------------------------------------------------------
# STRATA-TF-006: AWS access key id.

secret_aws_access_key := {
	"id": "STRATA-TF-006",
	"severity": "critical",
	"title": "AWS access key id in plaintext",
	"remediation": "Deactivate and rotate the key, then take credentials from the environment, an instance or workload role, or a secrets manager.",
	"checkov": "CKV_SECRET_2",
}

deny_secret_aws_access_key contains f if {
	file_mentions(["AKIA", "ASIA"])
	some [p, v] in string_values
	aws_access_key(v)
	f := finding(secret_aws_access_key, address(p), sprintf("%s holds an AWS access key id", [location(p)]))
}

# ---------------------------------------------------------------------------------------
# STRATA-TF-007: private key.

secret_private_key := {
	"id": "STRATA-TF-007",
	"severity": "critical",
	"title": "Private key in plaintext",
	"remediation": "Revoke and replace the key pair; read the private key from a secrets manager (or encrypt the file with SOPS) instead of writing it in Terraform.",
	"checkov": "CKV_SECRET_13",
}

deny_secret_private_key contains f if {
	file_mentions(["PRIVATE KEY"])
	some [p, v] in string_values
	private_key(v)
	f := finding(secret_private_key, address(p), sprintf("%s holds a private key", [location(p)]))
}

# ---------------------------------------------------------------------------------------
# STRATA-TF-008: GitHub token.

secret_github_token := {
	"id": "STRATA-TF-008",
	"severity": "critical",
	"title": "GitHub token in plaintext",
	"remediation": "Revoke the token on GitHub; pass it at run time (GITHUB_TOKEN, a sensitive variable fed from a secrets manager) or use a GitHub App.",
}

deny_secret_github_token contains f if {
	file_mentions(["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"])
	some [p, v] in string_values
	github_token(v)
	f := finding(secret_github_token, address(p), sprintf("%s holds a GitHub token", [location(p)]))
}

# ---------------------------------------------------------------------------------------
# STRATA-TF-009: Slack token or webhook.

secret_slack_token := {
	"id": "STRATA-TF-009",
	"severity": "high",
	"title": "Slack token or webhook URL in plaintext",
	"remediation": "Revoke the token or regenerate the webhook, and read it from a secrets manager at run time.",
	"checkov": "CKV_SECRET_14",
}

deny_secret_slack_token contains f if {
	file_mentions(["xox", "hooks.slack.com/"])
	some [p, v] in string_values
	slack_token(v)
	f := finding(secret_slack_token, address(p), sprintf("%s holds a Slack token or webhook URL", [location(p)]))
}

# ---------------------------------------------------------------------------------------
# STRATA-TF-010: a literal value where a secret goes.

secret_literal := {
	"id": "STRATA-TF-010",
	"severity": "high",
	"title": "Literal value in a secret attribute",
	"remediation": "Pass the value in: a sensitive variable without a default, an ephemeral or data source read from a secrets manager, or a generated random_password.",
	"checkov": "CKV_SECRET_6",
}

# Names that hold secrets: db_password, client_secret, auth_token, api_key, ...
secret_words := ["password", "passwd", "secret", "token", "apikey", "api_key", "accesskey", "access_key", "privatekey", "private_key", "credential", "credentials"]

secret_name(name) if {
	normalised := lower(replace(name, "-", "_"))
	some word in secret_words
	endswith(normalised, word)
}

# Attributes of resources that store a secret's value.
secret_value_attributes := {
	"aws_secretsmanager_secret_version": "secret_string",
	"azurerm_key_vault_secret": "value",
	"google_secret_manager_secret_version": "secret_data",
	"kubernetes_secret": "data",
}

secret_slot(p) if secret_name(attribute(p))

secret_slot(p) if {
	k := keys_of(p)
	k[0] == "resource"
	secret_value_attributes[k[1]] == k[3]
}

secret_slot(p) if {
	k := keys_of(p)
	k[0] == "resource"
	k[1] == "aws_ssm_parameter"
	k[3] == "value"
	some body in blocks(input.resource.aws_ssm_parameter[k[2]])
	body.type == "SecureString"
}

# A key ending in a secret word, or a resource type that stores secrets.
may_hold_secret_literal if regex.match(sprintf(`(%s)"`, [concat("|", secret_words)]), lower(file_text))

may_hold_secret_literal if file_mentions(array.concat(["aws_ssm_parameter"], [type | some type, _ in secret_value_attributes]))

# A reference to where the secret is kept, not the secret: an ARN, a parameter or secret
# path (/github/token), a URL without credentials in it.
secret_reference(v) if startswith(v, "arn:")

secret_reference(v) if startswith(v, "/")

secret_reference(v) if {
	regex.match(`^[a-z][a-z0-9+.-]*://[^@/]+(/.*)?$`, v)
}

# A placeholder for a value filled in elsewhere: $token, ${...} (computed), <token>,
# {{ token }}, %TOKEN%, CHANGE_ME and the like.
placeholder(v) if contains(v, "$")

placeholder(v) if regex.match(`^<[^>]*>$|^\{\{.*\}\}$|^%[A-Za-z0-9_]+%$`, v)

placeholder(v) if {
	some word in ["changeme", "change_me", "change-me", "replaceme", "replace_me", "todo", "xxx", "***", "redacted", "placeholder"]
	contains(lower(v), word)
}

# What a name, a unit or a sentence looks like, as opposed to a secret: lowercase words
# joined by - _ . or spaces (my-app-secret, minutes, db.credentials), or several words.
not_secret_looking(v) if regex.match(`^[a-z]+([-_. ][a-z]+)*$`, v)

not_secret_looking(v) if regex.match(`^[A-Za-z]+( [A-Za-z0-9,.;:'"()-]+){2,}$`, v)

not_secret_looking(v) if count(v) < 6

# A value that could be a secret: not empty, computed, a reference, a placeholder, or
# shaped like a name.
secret_looking(v) if {
	v != ""
	not computed(v)
	not secret_reference(v)
	not placeholder(v)
	not not_secret_looking(v)
}

deny_secret_literal contains f if {
	may_hold_secret_literal
	some [p, v] in string_values
	secret_slot(p)
	secret_looking(v)
	not known_credential(v)
	f := object.union(
		finding(secret_literal, address(p), sprintf("%s is a literal value", [location(p)])),
		{"attribute": last_key(p)},
	)
}

# ---------------------------------------------------------------------------------------
# STRATA-TF-011: a long random-looking literal, alone or inside a longer string (a script,
# a URL, or a literal written inside an expression).

secret_high_entropy := {
	"id": "STRATA-TF-011",
	"severity": "medium",
	"title": "Random-looking literal that may be a secret",
	"remediation": "If it is a credential, rotate it and pass it in at run time; if it is not, except the rule for this module.",
	"checkov_ids": ["CKV_SECRET_6", "CKV_SECRET_19"],
}

# Names whose values are digests and fingerprints, not secrets.
digest_words := {"sha", "sha1", "sha256", "sha512", "md5", "hash", "digest", "checksum", "etag", "commit", "fingerprint", "thumbprint", "ref", "revision"}

digest_name(name) if {
	some word in split(lower(replace(name, "-", "_")), "_")
	trim_suffix(word, "s") in digest_words
}

# Identifiers: words joined by _, - or / (AmazonEKS_CNI_IPv6_Policy, my-Service-Role2,
# Policy-Min-TLS-1-2-2019-07): every part letters with at most one digit among them, or a
# number, as names and dates are and random data is not.
identifier_like(token) if {
	parts := [part | some part in regex.split(`[_/-]`, token); part != ""]
	count(parts) >= 2
	every part in parts {
		regex.match(`^[A-Za-z]*[0-9]?[A-Za-z]*$|^[0-9]+$`, part)
	}
}

# Runs of 24 or more characters of the base64 (or base64url) alphabet.
token_pattern := `[A-Za-z0-9+/_-]{24,}=*`

# A token of the file with both letters and digits: without one, no value is random-looking.
may_hold_random_literal if {
	some token in regex.find_n(token_pattern, file_text, -1)
	regex.match(`[0-9]`, token)
	regex.match(`[A-Za-z]`, token)
}

# Upper and lower case letters and digits, switching character class often (as random data
# does, and words and names do not).
base64_like(token) if {
	regex.match(`[A-Z]`, token)
	regex.match(`[a-z]`, token)
	regex.match(`[0-9]`, token)
	class_changes(token) * 100 >= (count(token) - 1) * 45
}

# 32+ hex digits, all of one case, with both digits and letters.
hex_like(token) if {
	regex.match(`^([0-9a-f]{32,}|[0-9A-F]{32,})$`, token)
	regex.match(`[0-9]`, token)
	regex.match(`[a-fA-F]`, token)
}

# How many times adjacent characters change class (upper, lower, digit, other).
class_changes(token) := count(regex.find_n(`0+|A+|a+|-+`, classes, -1)) - 1 if {
	digits := regex.replace(token, `[0-9]`, "0")
	capitals := regex.replace(digits, `[A-Z]`, "A")
	letters := regex.replace(capitals, `[a-z]`, "a")
	classes := regex.replace(letters, `[^0Aa]`, "-")
}

# A path (a/b/c) has parts that are mostly lowercase words, as random data's parts are not.
# Its runs of other parts (a secret with a `/` in it is several parts in a row) are then
# judged on their own, so a random-looking run of 24 or more characters still counts, and a
# generated directory name (/tmp/.tmpX7kQ2p/...) between words makes no path a secret.
# A word of a path: three or more lowercase letters, then perhaps `-` or `_` and more
# (`stacks`, `sample-3fa9b2c1d4e5`), or lowercase letters and digits joined by `-`, `_` or
# `.` (`t-3fa9b2c1d4e5`, `v1.2`), as base64 never is; a short part with a digit and no
# separator (`xk9`) is none, so a key with `/` in it is not cut into short runs there.
path_word(part) if regex.match(`^[a-z]{3,}([_-][a-z0-9]+)*$|^[a-z0-9]+([_.-][a-z0-9]+)+$`, part)

path_like(token) if {
	parts := [part | some part in split(token, "/"); part != ""]
	count(parts) >= 3
	words := [part | some part in parts; path_word(part)]
	count(words) * 2 >= count(parts)
}

# A word becomes a space, which no token holds: the runs between words are then the pieces
# of the text split at spaces.
masked_part(part) := " " if path_word(part)

masked_part(part) := part if not path_word(part)

token_parts(token) := [token] if not path_like(token)

token_parts(token) := [run |
	masked := concat("/", [masked_part(part) | some part in split(token, "/")])
	some piece in split(masked, " ")
	run := trim(piece, "/")
	count(run) >= 24
] if path_like(token)

# The runs of a value to judge: its tokens, paths by their parts.
value_tokens(v) := {part |
	some token in regex.find_n(token_pattern, v, -1)
	some part in token_parts(token)
}

# A hex token counts only as a whole value: inside a longer string (a URL, an ARN, a module
# source's ?ref=) it is nearly always a commit or an id.
entropy_checkov(_, token) := "CKV_SECRET_6" if base64_like(token)

entropy_checkov(v, token) := "CKV_SECRET_19" if {
	not base64_like(token)
	token == v
	hex_like(token)
}

entropy_message(v, token) := sprintf("is a random-looking literal of %d characters", [count(v)]) if token == v

entropy_message(v, token) := sprintf("contains a random-looking literal of %d characters", [count(token)]) if token != v

# Public keys and certificates are random-looking by nature and no secret, when the value is
# nothing else: OpenSSH public keys (one per line), PEM certificates or public keys, and
# certificates in base64 (kubeconfig's certificate-authority-data, EKS's cluster CA:
# "-----BEGIN CERTIFICATE-----" encoded) that hold no private key.
public_material(v) if regex.match(`^\s*((ssh-(rsa|ed25519|dss)|ecdsa-sha2-nistp[0-9]+|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+=*( [^\n]*)?\s*)+$`, v)

public_material(v) if regex.match(`^\s*(-----BEGIN (CERTIFICATE|PUBLIC KEY)-----[A-Za-z0-9+/=\s]+-----END (CERTIFICATE|PUBLIC KEY)-----\s*)+$`, v)

public_material(v) if {
	startswith(trim_space(v), "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t")
	decoded := base64.decode(trim_space(v))
	regex.match(`^(-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----\s*)+$`, decoded)
}

# CamelCase names (`RunsOnPrivateRouteTable1Id`, a CloudFormation output): capitalised words
# and short numbers, four characters a part or so, as random data never is.
camel_case_like(token) if {
	regex.match(`^[a-z]*([A-Z][a-z]+|[0-9]{1,2})+$`, token)
	parts := regex.find_n(`[A-Z][a-z]+|[0-9]+`, token, -1)
	count(token) >= 3 * count(parts)
}

deny_secret_high_entropy contains f if {
	may_hold_random_literal
	some [p, v] in string_values
	count(v) >= 24
	not public_material(v)
	some token in value_tokens(v)
	checkov := entropy_checkov(v, token)
	not identifier_like(token)
	not camel_case_like(token)
	not known_credential(v)
	not secret_slot(p)
	not digest_name(attribute(p))
	f := object.union(
		finding(
			object.union(secret_high_entropy, {"checkov": checkov}),
			address(p),
			sprintf("%s %s", [location(p), entropy_message(v, token)]),
		),
		{"attribute": last_key(p)},
	)
}
