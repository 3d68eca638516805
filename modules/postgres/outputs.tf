output "instance_id" {
  description = "Identifier of the database instance."
  value       = local.instance_name
}

output "endpoint" {
  description = "DNS name clients connect to."
  value       = "${local.instance_name}.${null_resource.instance.id}.${var.region}.db.acme.internal"
}

output "port" {
  description = "TCP port of the database server."
  value       = var.port
}

output "database_name" {
  description = "Name of the initial database."
  value       = var.database_name
}

output "security_group_id" {
  description = "Security group guarding the database; add ingress rules to it for new clients."
  value       = "sg-${null_resource.security_group.id}"
}

output "parameter_group_family" {
  description = "Parameter group family derived from the engine version."
  value       = local.family
}
