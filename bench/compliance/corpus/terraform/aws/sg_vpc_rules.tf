# Newer per-rule resources (aws_vpc_security_group_ingress_rule).
resource "aws_security_group" "jump" {
  name        = "jump"
  description = "jump host"
  vpc_id      = "vpc-0123456789abcdef0"
}

resource "aws_vpc_security_group_ingress_rule" "jump_ssh" {
  security_group_id = aws_security_group.jump.id
  cidr_ipv4         = "0.0.0.0/0"
  from_port         = 22
  to_port           = 22
  ip_protocol       = "tcp"
}

resource "aws_vpc_security_group_ingress_rule" "jump_https" {
  security_group_id = aws_security_group.jump.id
  cidr_ipv4         = "0.0.0.0/0"
  from_port         = 443
  to_port           = 443
  ip_protocol       = "tcp"
}

resource "aws_vpc_security_group_ingress_rule" "jump_rdp_office" {
  security_group_id = aws_security_group.jump.id
  cidr_ipv4         = "198.51.100.0/24"
  from_port         = 3389
  to_port           = 3389
  ip_protocol       = "tcp"
}
