# ---------------------------------------------------------------------------
# Upstream inputs, supplied by the pipeline from stacks/network outputs.
# ---------------------------------------------------------------------------

variable "vpc_id" {
  description = "VPC the database lives in (stacks/network:vpc_id)."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets for the database subnet group (stacks/network:private_subnet_ids)."
  type        = list(string)
}

# ---------------------------------------------------------------------------
# Per-environment settings.
# ---------------------------------------------------------------------------

variable "environment" {
  description = "Deployment environment (dev, staging or prod)."
  type        = string

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "The environment must be one of: dev, staging, prod."
  }
}

variable "region" {
  description = "Region the database runs in."
  type        = string
  default     = "eu-west-1"
}

variable "instance_class" {
  description = "Database instance size."
  type        = string
  default     = "db.t3.medium"
}

variable "allocated_storage_gb" {
  description = "Initial storage in GiB."
  type        = number
  default     = 20
}

variable "max_allocated_storage_gb" {
  description = "Storage autoscaling ceiling in GiB (0 disables autoscaling)."
  type        = number
  default     = 0
}

variable "multi_az" {
  description = "Run a standby replica in a second zone."
  type        = bool
  default     = false
}

variable "backup_retention_days" {
  description = "Days automated backups are kept."
  type        = number
  default     = 7
}

variable "deletion_protection" {
  description = "Protect the instance against accidental deletion."
  type        = bool
  default     = true
}

variable "extra_parameters" {
  description = "Additional PostgreSQL parameters for this environment."
  type        = map(string)
  default     = {}
}
