# Checks on the network stack's plan, run by `strata check` after every plan.
# `input` is the plan JSON (sensitive values redacted); `data.strata` names the environment.
package stacks.network.plan_test

import rego.v1

subnets(tier) := {rc.address |
	some rc in input.resource_changes
	rc.type == "null_resource"
	startswith(rc.address, sprintf("module.%s_subnets.null_resource.subnet[", [tier]))
}

# Every environment spreads both subnet tiers over at least two availability zones.
test_private_subnets_span_two_zones if count(subnets("private")) >= 2

test_public_subnets_span_two_zones if count(subnets("public")) >= 2

# The VPC never loses its flow logs.
test_flow_logs_are_planned if {
	some rc in input.resource_changes
	rc.address == "module.vpc.null_resource.flow_logs[0]"
	not "delete" in rc.change.actions
}

# Nothing in the network is destroyed without a human looking at it.
test_no_deletions if {
	every rc in input.resource_changes {
		not "delete" in rc.change.actions
	}
}
