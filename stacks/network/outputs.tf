output "vpc_id" {
  description = "Identifier of the environment VPC."
  value       = module.vpc.vpc_id
}

output "vpc_cidr" {
  description = "IPv4 CIDR of the VPC."
  value       = module.vpc.cidr_block
}

output "private_subnet_ids" {
  description = "Private subnet identifiers, one per availability zone."
  value       = module.private_subnets.subnet_ids
}

output "private_subnet_cidrs" {
  description = "Private subnet CIDR blocks, one per availability zone."
  value       = module.private_subnets.cidr_blocks
}

output "public_subnet_ids" {
  description = "Public subnet identifiers, one per availability zone."
  value       = module.public_subnets.subnet_ids
}

output "nat_gateway_ids" {
  description = "NAT gateway identifiers keyed by availability zone."
  value       = module.vpc.nat_gateway_ids
}
