# Rendered from shared/alerts/slo-burn-rate.tpl by stacks/observability.
# ${window_days}-day objective ${objective}: pages on a fast burn (1h and 5m
# windows at 14.4x) or a steady burn (6h and 30m windows at 6x).
- alert: ${name}
  expr: |
    (
      (${replace(error_ratio_query, "RANGE", "1h")}) > (14.4 * ${error_budget})
      and
      (${replace(error_ratio_query, "RANGE", "5m")}) > (14.4 * ${error_budget})
    )
    or
    (
      (${replace(error_ratio_query, "RANGE", "6h")}) > (6 * ${error_budget})
      and
      (${replace(error_ratio_query, "RANGE", "30m")}) > (6 * ${error_budget})
    )
  labels:
    severity: critical
    environment: ${environment}
    team: ${team}
    service: ${service}
    slo: "${objective}"
  annotations:
    summary: "${service} is burning its ${window_days}-day error budget too fast"
    runbook_url: "${runbook_url}"
