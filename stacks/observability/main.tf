locals {
  shared_dir     = "${path.module}/../../shared"
  runbook_base   = "https://runbooks.acme.internal/platform"
  critical_route = var.enable_paging ? ["slack", "pagerduty"] : ["slack"]

  # Human-readable threshold for alert text: 0.02 -> "2".
  api_error_rate_percent = format("%.3g", var.api_error_rate_threshold * 100)

  all_channels = {
    slack     = { type = "slack", target = var.slack_channel }
    pagerduty = { type = "pagerduty", target = var.pagerduty_service }
  }
  notification_channels = {
    for name, channel in local.all_channels : name => channel
    if name != "pagerduty" || var.enable_paging
  }

  # Threshold alerts, rendered from shared/alerts/alert-rule.tpl.
  threshold_rules = {
    api-high-error-rate = {
      severity    = "critical"
      team        = "orders"
      for         = "5m"
      expr        = "sum(rate(http_requests_total{cluster='${var.cluster_name}', service='api', code=~'5..'}[5m])) / sum(rate(http_requests_total{cluster='${var.cluster_name}', service='api'}[5m])) > ${var.api_error_rate_threshold}"
      summary     = "API 5xx ratio above ${local.api_error_rate_percent}%"
      description = "More than ${local.api_error_rate_percent}% of API requests in ${var.cluster_name} failed over the last 5 minutes."
    }
    node-not-ready = {
      severity    = "warning"
      team        = "platform"
      for         = "10m"
      expr        = "sum(kube_node_status_condition{cluster='${var.cluster_name}', condition='Ready', status!='true'}) > 0"
      summary     = "Kubernetes node not ready"
      description = "At least one node in ${var.cluster_name} has been NotReady for 10 minutes."
    }
    worker-queue-backlog = {
      severity    = "warning"
      team        = "orders"
      for         = "15m"
      expr        = "sum(worker_queue_depth{cluster='${var.cluster_name}'}) > ${var.worker_queue_backlog_threshold}"
      summary     = "Worker queue backlog growing"
      description = "More than ${var.worker_queue_backlog_threshold} jobs are waiting in ${var.cluster_name}."
    }
    database-high-cpu = {
      severity    = "warning"
      team        = "orders"
      for         = "15m"
      expr        = "avg(db_cpu_utilization_percent{instance='${var.database_instance_id}'}) > ${var.database_cpu_threshold_percent}"
      summary     = "Database CPU above ${var.database_cpu_threshold_percent}%"
      description = "${var.database_instance_id} has been above ${var.database_cpu_threshold_percent}% CPU for 15 minutes."
    }
    database-storage-low = {
      severity    = "critical"
      team        = "orders"
      for         = "5m"
      expr        = "min(db_free_storage_bytes{instance='${var.database_instance_id}'}) < 5 * 1024 * 1024 * 1024"
      summary     = "Database free storage below 5 GiB"
      description = "${var.database_instance_id} is running out of storage."
    }
  }

  rendered_threshold_rules = {
    for name, rule in local.threshold_rules : name => {
      severity = rule.severity
      channels = rule.severity == "critical" ? local.critical_route : ["slack"]
      definition = templatefile("${local.shared_dir}/alerts/alert-rule.tpl", {
        name        = name
        expr        = rule.expr
        for         = rule.for
        severity    = rule.severity
        environment = var.environment
        team        = rule.team
        summary     = rule.summary
        description = rule.description
        runbook_url = "${local.runbook_base}/${name}"
        labels      = { cluster = var.cluster_name }
      })
    }
  }

  # SLO burn-rate alert, rendered from shared/alerts/slo-burn-rate.tpl.
  slo_rules = {
    api-availability-slo = {
      severity = "critical"
      channels = local.critical_route
      definition = templatefile("${local.shared_dir}/alerts/slo-burn-rate.tpl", {
        name              = "api-availability-slo"
        service           = "api"
        objective         = var.api_availability_objective
        error_budget      = format("%.3g", 1 - var.api_availability_objective)
        window_days       = 30
        error_ratio_query = "sum(rate(http_requests_total{cluster='${var.cluster_name}', service='api', code=~'5..'}[RANGE])) / sum(rate(http_requests_total{cluster='${var.cluster_name}', service='api'}[RANGE]))"
        environment       = var.environment
        team              = "orders"
        runbook_url       = "${local.runbook_base}/api-availability-slo"
      })
    }
  }

  # Every dashboard in shared/dashboards is published, keyed by file name.
  dashboard_files = fileset("${local.shared_dir}/dashboards", "*.json")
  dashboards = {
    for file_name in local.dashboard_files :
    trimsuffix(file_name, ".json") => file("${local.shared_dir}/dashboards/${file_name}")
  }
}

module "alerting" {
  source = "../../modules/alerting"

  environment           = var.environment
  namespace             = "platform"
  notification_channels = local.notification_channels
  alert_rules           = merge(local.rendered_threshold_rules, local.slo_rules)
  dashboards            = local.dashboards

  tags = {
    Environment = var.environment
    Component   = "observability"
    Cluster     = var.cluster_name
    ManagedBy   = "terraform"
  }
}
