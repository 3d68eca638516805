# Every TCP port open to the internet (protocol tcp, 0-65535).
resource "aws_security_group" "game_servers" {
  name        = "game-servers"
  description = "game servers"
  vpc_id      = "vpc-0123456789abcdef0"

  ingress {
    from_port   = 0
    to_port     = 65535
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
