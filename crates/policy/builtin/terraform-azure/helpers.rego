# Helpers for the Azure rules of this directory.
#
# Input: one module (every .tf file of a directory, read as one) in strata's shape. A block
# written once is an object, written more than once at the same place (in one file or
# across the module's files) an array of objects; a value Terraform computes (a reference,
# a function call, an interpolated template) is a string "${...}".
package builtin.azure

import rego.v1

# The bodies of a block, whether it was written once (object) or several times (array).
blocks(x) := x if is_array(x)

blocks(x) := [x] if is_object(x)

# Every resource of a type in the file, as [name, body] pairs.
resources(type) := {[name, body] |
	some name, raw in input.resource[type]
	some body in blocks(raw)
}

# A value known only after apply.
computed(x) if {
	is_string(x)
	contains(x, "${")
}

# Literal true (HCL also accepts the string "true").
enabled(x) if x == true

enabled(x) if x == "true"

# A number written as a literal number or a numeric string; undefined when computed.
number(x) := x if is_number(x)

number(x) := to_number(x) if {
	is_string(x)
	regex.match(`^-?[0-9]+$`, x)
}

# A list attribute (or a single computed string standing for a list) as an array.
as_list(x) := x if is_array(x)

as_list(x) := [x] if is_string(x)

# A finding: the rule's metadata plus where and what (`checkov_ids`, every Checkov id the
# rule may carry, is for `strata policy rules`; a finding carries its own `checkov`).
finding(meta, resource, msg) := object.union(object.remove(meta, ["checkov_ids"]), {"resource": resource, "msg": msg})


# Literal false (or the string "false").
disabled(x) if x == false

disabled(x) if x == "false"

# Whether `value` refers to <type>.<name> ("${azurerm_storage_account.logs.id}").
references(value, type, name) if {
	is_string(value)
	some suffix in [".", "["]
	contains(value, concat("", [type, ".", name, suffix]))
}

# `type.name`, as findings name a resource.
addr(type, name) := sprintf("%s.%s", [type, name])

# A setting at `path` (keys through attributes and blocks written once) as "on", "off" or
# "computed"; `unset` stands for an unset setting (the provider's default).
flag(body, path, unset) := "computed" if computed(object.get(body, path, unset))

flag(body, path, unset) := "on" if enabled(object.get(body, path, unset))

flag(body, path, unset) := "off" if {
	value := object.get(body, path, unset)
	not enabled(value)
	not computed(value)
}

# The first body of a block (written once or more), or {} when it is absent.
first(body, key) := bodies[0] if {
	bodies := blocks(object.get(body, key, []))
	count(bodies) > 0
}

first(body, key) := {} if not has_block(body, key)

has_block(body, key) if count(blocks(object.get(body, key, []))) > 0

# A literal string value, or undefined when computed or not a string.
literal(x) := x if {
	is_string(x)
	not computed(x)
}
