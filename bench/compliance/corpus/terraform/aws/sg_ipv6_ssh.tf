# Dual-stack host reachable over SSH on IPv6 from anywhere.
resource "aws_security_group" "ipv6_admin" {
  name        = "ipv6-admin"
  description = "admin access over IPv6"
  vpc_id      = "vpc-0123456789abcdef0"

  ingress {
    from_port        = 22
    to_port          = 22
    protocol         = "tcp"
    ipv6_cidr_blocks = ["::/0"]
  }
}
