# Public load balancer: HTTPS from anywhere, SSH only from the VPN range.
resource "aws_security_group" "public_web" {
  name        = "public-web"
  description = "public ALB"
  vpc_id      = "vpc-0123456789abcdef0"

  ingress {
    description      = "HTTPS"
    from_port        = 443
    to_port          = 443
    protocol         = "tcp"
    cidr_blocks      = ["0.0.0.0/0"]
    ipv6_cidr_blocks = ["::/0"]
  }

  ingress {
    description = "SSH from VPN"
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["10.20.0.0/16"]
  }
}
