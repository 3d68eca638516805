# "Temporary" debugging group that allows all traffic from the internet.
resource "aws_security_group" "debug_all" {
  name        = "debug-all"
  description = "temporary debugging"
  vpc_id      = "vpc-0123456789abcdef0"

  ingress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
