terraform {
  required_version = ">= 1.5"
  backend "s3" {
    bucket = "state"
  }
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }
}
provider "aws" {
  region = "eu-west-1"
}
module "vpc" {
  source = "./modules/vpc"
  azs    = data.aws_availability_zones.all.names
}
data "aws_iam_policy_document" "p" {
  statement {
    actions = ["s3:GetObject"]
  }
}
output "id" {
  value     = module.vpc.id
  sensitive = true
}
locals {
  script = <<-EOT
    echo hello
    echo ${var.x}
  EOT
}
locals {
  other = 1
}
