environment                    = "staging"
slack_channel                  = "#alerts-staging"
enable_paging                  = false
api_error_rate_threshold       = 0.1
api_availability_objective     = 0.995
database_cpu_threshold_percent = 85
worker_queue_backlog_threshold = 2000
