variable "environment" {
  description = "Deployment environment (dev, staging or prod)."
  type        = string
}

variable "name" {
  description = "Component name of the VPC, used in the naming convention."
  type        = string
  default     = "network"
}

variable "region" {
  description = "Region the VPC is created in."
  type        = string
}

variable "cidr_block" {
  description = "IPv4 CIDR block of the VPC. Must be a private (RFC 1918) range between /16 and /22."
  type        = string

  validation {
    condition     = can(cidrhost(var.cidr_block, 0)) && can(regex("/(1[6-9]|2[0-2])$", var.cidr_block))
    error_message = "The cidr_block must be a valid IPv4 CIDR with a prefix length between /16 and /22."
  }
}

variable "availability_zones" {
  description = "Availability zones the VPC spans. NAT gateways are placed per zone when enabled."
  type        = list(string)

  validation {
    condition     = length(var.availability_zones) >= 1 && length(var.availability_zones) <= 4
    error_message = "Between one and four availability zones are supported."
  }
}

variable "enable_nat_gateway" {
  description = "Whether private subnets get outbound internet access through NAT gateways."
  type        = bool
  default     = true
}

variable "single_nat_gateway" {
  description = "Use one shared NAT gateway instead of one per zone (cheaper, not zone-redundant)."
  type        = bool
  default     = false
}

variable "enable_flow_logs" {
  description = "Capture VPC flow logs for security auditing."
  type        = bool
  default     = true
}

variable "flow_log_retention_days" {
  description = "How long VPC flow logs are retained."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 180, 365], var.flow_log_retention_days)
    error_message = "The flow_log_retention_days must be one of 1, 3, 5, 7, 14, 30, 60, 90, 180 or 365."
  }
}

variable "owner_team" {
  description = "Team that owns the network."
  type        = string
  default     = "platform"
}

variable "extra_tags" {
  description = "Additional tags for every VPC resource."
  type        = map(string)
  default     = {}
}
