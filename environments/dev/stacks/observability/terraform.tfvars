environment                    = "dev"
slack_channel                  = "#alerts-dev"
enable_paging                  = false
api_error_rate_threshold       = 0.2
api_availability_objective     = 0.99
database_cpu_threshold_percent = 90
worker_queue_backlog_threshold = 5000
