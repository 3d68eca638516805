# Network stack pulling modules from the registry and from git without pinning them.
module "vpc" {
  source = "terraform-aws-modules/vpc/aws"

  name = "prod"
  cidr = "10.0.0.0/16"
}

module "eks" {
  source  = "terraform-aws-modules/eks/aws"
  version = ">= 19.0"

  cluster_name = "prod"
}

module "tagging" {
  source = "git::https://github.com/acme-platform/terraform-tagging.git"

  team = "platform"
}

module "dns" {
  source = "git::https://github.com/acme-platform/terraform-dns.git?ref=main"

  zone = "acme.example"
}
