variable "organization" {
  description = "Short organization code used as the first segment of every resource name."
  type        = string
  default     = "acme"

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,7}$", var.organization))
    error_message = "The organization must be 2-8 lowercase alphanumeric characters, starting with a letter."
  }
}

variable "environment" {
  description = "Deployment environment the named resources belong to."
  type        = string

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "The environment must be one of: dev, staging, prod."
  }
}

variable "component" {
  description = "Logical component name, for example \"network\" or \"orders-db\"."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.component))
    error_message = "The component must be 3-32 characters of lowercase letters, digits and hyphens."
  }
}

variable "region" {
  description = "Region code the component is deployed to; included in tags, not in names."
  type        = string
  default     = "eu-west-1"
}

variable "owner_team" {
  description = "Team responsible for the component; surfaces in the Owner tag and on-call routing."
  type        = string
  default     = "platform"
}

variable "cost_center" {
  description = "Finance cost center the component is billed to."
  type        = string
  default     = "cc-1000"

  validation {
    condition     = can(regex("^cc-[0-9]{4}$", var.cost_center))
    error_message = "The cost_center must look like cc-1234."
  }
}

variable "extra_tags" {
  description = "Additional tags merged on top of the standard tag set."
  type        = map(string)
  default     = {}
}
