package builtin.terraform

import rego.v1

mock_module(body) := {"module": {"vpc": body}}

# STRATA-TF-001

test_registry_module_without_version_denied if {
	fs := deny_module_registry_version with input as mock_module({"source": "terraform-aws-modules/vpc/aws", "cidr": "${var.cidr}"})
	count(fs) == 1
	some f in fs
	f.id == "STRATA-TF-001"
	f.checkov == "CKV_TF_2"
	f.resource == "module.vpc"
	f.msg == "module.vpc uses terraform-aws-modules/vpc/aws without a version"
}

test_private_registry_module_open_ended_version_denied if {
	fs := deny_module_registry_version with input as mock_module({"source": "app.terraform.io/acme/vpc/aws//modules/subnets", "version": ">= 1.0"})
	some f in fs
	f.msg == "module.vpc accepts any future version of app.terraform.io/acme/vpc/aws//modules/subnets (version \">= 1.0\" has no upper bound)"
}

test_registry_module_with_version_passes if {
	count(deny_module_registry_version) == 0 with input as {"module": {
		"exact": {"source": "terraform-aws-modules/vpc/aws", "version": "5.8.1"},
		"pessimistic": {"source": "registry.terraform.io/hashicorp/consul/aws", "version": "~> 0.11.0"},
		"range": {"source": "acme/network/google", "version": ">= 1.2, < 2.0"},
	}}
}

test_local_and_other_sources_are_not_registry_modules if {
	count(deny_module_registry_version) == 0 with input as {"module": {
		"local": {"source": "./modules/vpc"},
		"parent": {"source": "../shared/vpc"},
		"archive": {"source": "s3::https://s3.amazonaws.com/acme-modules/vpc.zip"},
		"git": {"source": "github.com/acme/vpc"},
	}}
}

# STRATA-TF-002

test_git_module_without_ref_denied if {
	fs := deny_module_git_ref with input as mock_module({"source": "git::https://example.com/vpc.git"})
	count(fs) == 1
	some f in fs
	f.id == "STRATA-TF-002"
	f.checkov == "CKV_TF_2"
	f.msg == "module.vpc: source git::https://example.com/vpc.git has no ?ref="
}

test_git_module_on_branch_denied if {
	fs := deny_module_git_ref with input as {"module": {
		"a": {"source": "github.com/acme/terraform-vpc?ref=main"},
		"b": {"source": "git@github.com:acme/terraform-vpc.git//modules/subnets?depth=1&ref=develop"},
	}}
	{f.resource | some f in fs} == {"module.a", "module.b"}
}

test_git_module_pinned_passes if {
	count(deny_module_git_ref) == 0 with input as {"module": {
		"tag": {"source": "git::https://example.com/vpc.git?ref=v1.2.0"},
		"sha": {"source": "git::ssh://git@example.com/acme/vpc.git//modules/a?ref=3f2c1d9e8b7a6c5d4e3f2a1b0c9d8e7f6a5b4c3d"},
		"major": {"source": "bitbucket.org/acme/vpc?ref=v3"},
		"local": {"source": "./modules/vpc"},
	}}
}

test_modules_written_as_arrays_are_read if {
	count(deny_module_git_ref) == 1 with input as {"module": {"vpc": [{"source": "git::https://example.com/vpc.git"}]}}
}

# STRATA-TF-012

test_git_module_on_a_tag_is_not_pinned_to_a_commit if {
	inp := {"module": {"vpc": {"source": "git::https://github.com/acme/vpc.git?ref=v1.2.0"}}}
	fs := deny_module_commit_hash with input as inp
	count(fs) == 1
	some f in fs
	f.checkov == "CKV_TF_1"
	f.id == "STRATA-TF-012"
}

test_git_module_on_a_commit_and_registry_modules_pass if {
	inp := {"module": {
		"vpc": {"source": "git::https://github.com/acme/vpc.git?ref=4f1c2b3a9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a"},
		"eks": {"source": "terraform-aws-modules/eks/aws", "version": "20.8.4"},
	}}
	count(deny_module_commit_hash) == 0 with input as inp
}
