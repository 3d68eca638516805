output "endpoint" {
  description = "Hostname applications use to connect to the orders database."
  value       = module.orders_db.endpoint
}

output "port" {
  description = "TCP port of the orders database."
  value       = module.orders_db.port
}

output "database_name" {
  description = "Name of the orders database."
  value       = module.orders_db.database_name
}

output "instance_id" {
  description = "Identifier of the database instance, used for monitoring."
  value       = module.orders_db.instance_id
}

output "security_group_id" {
  description = "Security group of the database."
  value       = module.orders_db.security_group_id
}
