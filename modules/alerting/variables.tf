variable "environment" {
  description = "Deployment environment (dev, staging or prod)."
  type        = string
}

variable "namespace" {
  description = "Monitoring namespace the rules and dashboards are grouped under."
  type        = string
  default     = "platform"
}

variable "notification_channels" {
  description = "Where alerts are delivered, keyed by channel name."
  type = map(object({
    type   = string
    target = string
  }))

  validation {
    condition     = alltrue([for channel in values(var.notification_channels) : contains(["slack", "pagerduty", "email"], channel.type)])
    error_message = "Notification channel types must be slack, pagerduty or email."
  }
}

variable "alert_rules" {
  description = "Alert rules keyed by rule name. definition holds the rendered rule document."
  type = map(object({
    severity   = string
    channels   = list(string)
    definition = string
  }))

  validation {
    condition     = alltrue([for rule in values(var.alert_rules) : contains(["info", "warning", "critical"], rule.severity)])
    error_message = "Alert rule severity must be info, warning or critical."
  }
}

variable "dashboards" {
  description = "Dashboard JSON documents keyed by dashboard name."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for body in values(var.dashboards) : can(jsondecode(body))])
    error_message = "Every dashboard must be a valid JSON document."
  }
}

variable "tags" {
  description = "Tags attached to every alerting resource."
  type        = map(string)
  default     = {}
}
