# Checks on the api chart's rendered manifests, run by `strata check` after every render.
# `input` is the list of rendered objects; `data.strata.environment` names the environment.
package charts.api.render_test

import rego.v1

deployments := [obj | some obj in input; obj.kind == "Deployment"]

test_one_deployment if count(deployments) == 1

# Every container declares CPU and memory limits.
test_containers_have_limits if {
	every d in deployments {
		every c in d.spec.template.spec.containers {
			c.resources.limits.cpu
			c.resources.limits.memory
		}
	}
}

# Production runs at least two replicas.
test_prod_is_redundant if {
	data.strata.environment != "prod"
}

test_prod_is_redundant if {
	data.strata.environment == "prod"
	every d in deployments {
		d.spec.replicas >= 2
	}
}
