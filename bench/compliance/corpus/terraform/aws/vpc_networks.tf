# The main VPC with flow logs and a default security group that allows nothing; a
# sandbox VPC without flow logs whose default group was left open to itself.
resource "aws_vpc" "main" {
  cidr_block = "10.10.0.0/16"
}

resource "aws_flow_log" "main" {
  vpc_id               = aws_vpc.main.id
  traffic_type         = "ALL"
  log_destination_type = "s3"
  log_destination      = "arn:aws:s3:::acme-flow-logs"
}

resource "aws_default_security_group" "main" {
  vpc_id = aws_vpc.main.id
}

resource "aws_vpc" "sandbox" {
  cidr_block = "10.99.0.0/16"
}

resource "aws_default_security_group" "sandbox" {
  vpc_id = aws_vpc.sandbox.id

  ingress {
    protocol  = "-1"
    self      = true
    from_port = 0
    to_port   = 0
  }

  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
