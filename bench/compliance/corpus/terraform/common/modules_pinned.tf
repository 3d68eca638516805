# Modules pinned to exact releases, tags and commits.
module "vpc_shared" {
  source  = "terraform-aws-modules/vpc/aws"
  version = "5.8.1"

  name = "shared"
  cidr = "10.1.0.0/16"
}

module "iam_roles" {
  source  = "terraform-aws-modules/iam/aws//modules/iam-assumable-role"
  version = "~> 5.39.0"

  role_name = "deployer"
}

module "alerts" {
  source = "git::https://github.com/acme-platform/terraform-alerts.git?ref=v1.4.2"

  channel = "#ops"
}

module "budget" {
  source = "git::https://github.com/acme-platform/terraform-budget.git?ref=3f9c2a1b7e5d4c6f8a0b1c2d3e4f5a6b7c8d9e0f"

  limit = 1000
}

module "labels" {
  source = "git::https://github.com/acme-platform/terraform-labels.git?ref=v2"

  env = "prod"
}

module "naming" {
  source = "../../modules/naming"

  prefix = "acme"
}
