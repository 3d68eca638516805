output "subnet_ids" {
  description = "Subnet identifiers, ordered like var.availability_zones."
  value       = [for zone in var.availability_zones : "subnet-${null_resource.subnet[zone].id}"]
}

output "subnet_ids_by_zone" {
  description = "Subnet identifiers keyed by availability zone."
  value       = { for zone, subnet in null_resource.subnet : zone => "subnet-${subnet.id}" }
}

output "cidr_blocks" {
  description = "Subnet CIDR blocks, ordered like var.availability_zones."
  value       = [for zone in var.availability_zones : local.subnets[zone].cidr_block]
}

output "tier" {
  description = "Tier of this subnet set."
  value       = var.tier
}
