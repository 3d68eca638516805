variable "environment" {
  description = "Deployment environment (dev, staging or prod)."
  type        = string
}

variable "identifier" {
  description = "Short name of the database component, for example \"orders-db\"."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.identifier))
    error_message = "The identifier must be 3-31 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "region" {
  description = "Region the database runs in."
  type        = string
  default     = "eu-west-1"
}

variable "vpc_id" {
  description = "VPC the database is placed in."
  type        = string
}

variable "subnet_ids" {
  description = "Subnets for the database subnet group. At least two for multi-AZ deployments."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 1
    error_message = "At least one subnet id is required."
  }
}

variable "engine_version" {
  description = "PostgreSQL major.minor version."
  type        = string
  default     = "15.5"

  validation {
    condition     = can(regex("^(13|14|15|16)\\.[0-9]+$", var.engine_version))
    error_message = "The engine_version must be a supported PostgreSQL release (13.x to 16.x)."
  }
}

variable "instance_class" {
  description = "Instance size of the database server."
  type        = string
  default     = "db.t3.medium"

  validation {
    condition     = can(regex("^db\\.(t3|t4g|m6g|m6i|r6g|r6i)\\.[a-z0-9]+$", var.instance_class))
    error_message = "The instance_class must be a db.* class from the approved families (t3, t4g, m6g, m6i, r6g, r6i)."
  }
}

variable "allocated_storage_gb" {
  description = "Initial storage size in GiB."
  type        = number
  default     = 20

  validation {
    condition     = var.allocated_storage_gb >= 20 && var.allocated_storage_gb <= 4096
    error_message = "The allocated_storage_gb must be between 20 and 4096."
  }
}

variable "max_allocated_storage_gb" {
  description = "Upper limit for storage autoscaling in GiB; 0 disables autoscaling."
  type        = number
  default     = 0
}

variable "multi_az" {
  description = "Run a synchronous standby in a second availability zone."
  type        = bool
  default     = false
}

variable "backup_retention_days" {
  description = "Days automated backups are kept."
  type        = number
  default     = 7

  validation {
    condition     = var.backup_retention_days >= 1 && var.backup_retention_days <= 35
    error_message = "The backup_retention_days must be between 1 and 35."
  }
}

variable "deletion_protection" {
  description = "Refuse to delete the instance until protection is turned off."
  type        = bool
  default     = true
}

variable "database_name" {
  description = "Name of the initial database created on the instance."
  type        = string
  default     = "app"
}

variable "port" {
  description = "TCP port the server listens on."
  type        = number
  default     = 5432
}

variable "parameters" {
  description = "PostgreSQL server parameters applied through the parameter group."
  type        = map(string)
  default     = {}
}

variable "owner_team" {
  description = "Team that owns the database."
  type        = string
  default     = "platform"
}
