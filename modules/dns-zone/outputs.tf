output "zone_id" {
  description = "Identifier of the hosted zone."
  value       = "Z${null_resource.zone.id}"
}

output "zone_name" {
  description = "Name of the hosted zone."
  value       = var.zone_name
}

output "name_servers" {
  description = "Authoritative name servers to delegate the zone to (empty for private zones)."
  value       = [for index in range(var.private_zone ? 0 : 4) : "ns-${index + 1}.dns.acme.internal"]
}

output "fqdns" {
  description = "Fully qualified names of the managed records, keyed by relative name."
  value       = { for name, record in local.records : name => record.fqdn }
}
