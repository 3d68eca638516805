environment             = "prod"
region                  = "eu-west-1"
vpc_cidr                = "10.30.0.0/16"
availability_zones      = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
single_nat_gateway      = false
flow_log_retention_days = 365
