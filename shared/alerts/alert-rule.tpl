# Rendered from shared/alerts/alert-rule.tpl by stacks/observability.
- alert: ${name}
  expr: |
    ${expr}
  for: ${for}
  labels:
    severity: ${severity}
    environment: ${environment}
    team: ${team}
%{ for key, value in labels ~}
    ${key}: "${value}"
%{ endfor ~}
  annotations:
    summary: "${summary}"
    description: "${description}"
    runbook_url: "${runbook_url}"
