# Helpers for the provider-independent Terraform rules of this directory.
#
# Input: one module (every .tf file of a directory, read as one) in strata's shape. A block
# written once is an object, written more than once at the same place (in one file or
# across the module's files) an array of objects; a value Terraform computes (a reference,
# a function call, an interpolated template) is a string "${...}".
package builtin.terraform

import rego.v1

# The bodies of a block, whether it was written once (object) or several times (array).
blocks(x) := x if is_array(x)

blocks(x) := [x] if is_object(x)

# A value known only after apply.
computed(x) if {
	is_string(x)
	contains(x, "${")
}

# Literal true (HCL also accepts the string "true").
enabled(x) if x == true

enabled(x) if x == "true"

# A finding: the rule's metadata plus where and what (`checkov_ids`, every Checkov id the
# rule may carry, is for `strata policy rules`; a finding carries its own `checkov`).
finding(meta, resource, msg) := object.union(object.remove(meta, ["checkov_ids"]), {"resource": resource, "msg": msg})

# The environment being checked: a name, or null for an environment-less scan.
environment := data.strata.environment

environment := null if not has_environment

has_environment if "environment" in object.keys(data.strata)

# Environments where the backend rules are relaxed, and the production ones.
dev_environments := {"dev", "development", "sandbox"}

prod_environments := {"prod", "production"}

outside_dev if {
	is_string(environment)
	not environment in dev_environments
}

in_prod if environment in prod_environments
