output "vpc_id" {
  description = "Identifier of the VPC."
  value       = "vpc-${null_resource.vpc.id}"
}

output "vpc_name" {
  description = "Name of the VPC following the naming convention."
  value       = local.vpc_name
}

output "cidr_block" {
  description = "IPv4 CIDR block of the VPC."
  value       = var.cidr_block
}

output "internet_gateway_id" {
  description = "Identifier of the internet gateway attached to the VPC."
  value       = "igw-${null_resource.internet_gateway.id}"
}

output "nat_gateway_ids" {
  description = "NAT gateway identifiers keyed by availability zone (empty when NAT is disabled)."
  value       = { for zone, nat in null_resource.nat_gateway : zone => "nat-${nat.id}" }
}

output "tags" {
  description = "Tags applied to the VPC, for reuse by subnets and other network resources."
  value       = module.naming.tags
}
