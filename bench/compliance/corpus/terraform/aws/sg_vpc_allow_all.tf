# Allow-all ingress written with the per-rule resource.
resource "aws_security_group" "partner_vpn" {
  name        = "partner-vpn"
  description = "partner VPN endpoints"
  vpc_id      = "vpc-0123456789abcdef0"
}

resource "aws_vpc_security_group_ingress_rule" "partner_vpn_all" {
  security_group_id = aws_security_group.partner_vpn.id
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "-1"
}
