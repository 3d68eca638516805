variable "vpc_id" {
  description = "Identifier of the VPC the subnets are created in."
  type        = string
}

variable "name_prefix" {
  description = "Name prefix for the subnets, usually the VPC name."
  type        = string
}

variable "tier" {
  description = "Subnet tier. Public subnets get a route to the internet gateway, private ones to NAT, data ones have no default route."
  type        = string

  validation {
    condition     = contains(["public", "private", "data"], var.tier)
    error_message = "The tier must be one of: public, private, data."
  }
}

variable "cidr_block" {
  description = "Address range carved into one subnet per availability zone. Must sit inside the VPC CIDR."
  type        = string

  validation {
    condition     = can(cidrhost(var.cidr_block, 0))
    error_message = "The cidr_block must be a valid IPv4 CIDR block."
  }
}

variable "newbits" {
  description = "Bits added to the cidr_block prefix for each subnet (cidrsubnet newbits)."
  type        = number
  default     = 3

  validation {
    condition     = var.newbits >= 1 && var.newbits <= 8
    error_message = "The newbits value must be between 1 and 8."
  }
}

variable "availability_zones" {
  description = "Availability zones to create one subnet in, in order."
  type        = list(string)

  validation {
    condition     = length(var.availability_zones) > 0
    error_message = "At least one availability zone is required."
  }
}

variable "route_target_ids" {
  description = "Default route target per availability zone (NAT gateway or internet gateway id). Zones missing from the map get no default route."
  type        = map(string)
  default     = {}
}

variable "tags" {
  description = "Tags applied to every subnet."
  type        = map(string)
  default     = {}
}
