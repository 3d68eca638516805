output "zone_id" {
  description = "Identifier of the public zone."
  value       = module.public_zone.zone_id
}

output "name_servers" {
  description = "Name servers to configure at the registrar."
  value       = module.public_zone.name_servers
}

output "service_fqdns" {
  description = "Fully qualified service hostnames keyed by relative name."
  value       = module.public_zone.fqdns
}
