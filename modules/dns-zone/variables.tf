variable "zone_name" {
  description = "Fully qualified name of the hosted zone, without the trailing dot."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,}$", var.zone_name))
    error_message = "The zone_name must be a lowercase fully qualified domain name without a trailing dot."
  }
}

variable "private_zone" {
  description = "Create a private zone resolvable only from inside the VPC instead of a public one."
  type        = bool
  default     = false
}

variable "comment" {
  description = "Free-text description shown on the zone."
  type        = string
  default     = "Managed by Terraform"
}

variable "default_ttl" {
  description = "TTL in seconds for records that do not set their own."
  type        = number
  default     = 300

  validation {
    condition     = var.default_ttl >= 30 && var.default_ttl <= 86400
    error_message = "The default_ttl must be between 30 and 86400 seconds."
  }
}

variable "records" {
  description = "Records keyed by relative name (\"@\" for the apex). ttl = 0 means use default_ttl."
  type = map(object({
    type   = string
    ttl    = number
    values = list(string)
  }))
  default = {}

  validation {
    condition     = alltrue([for record in values(var.records) : contains(["A", "AAAA", "CNAME", "TXT", "MX", "CAA"], record.type)])
    error_message = "Record types must be one of A, AAAA, CNAME, TXT, MX or CAA."
  }
}

variable "tags" {
  description = "Tags applied to the zone."
  type        = map(string)
  default     = {}
}
