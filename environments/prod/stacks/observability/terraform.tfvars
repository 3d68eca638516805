environment                    = "prod"
slack_channel                  = "#alerts-prod"
enable_paging                  = true
pagerduty_service              = "acme-orders-production"
api_error_rate_threshold       = 0.02
api_availability_objective     = 0.999
database_cpu_threshold_percent = 75
worker_queue_backlog_threshold = 1000
