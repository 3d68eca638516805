# SSH to the bastion from anywhere.
resource "aws_security_group" "bastion_ssh" {
  name        = "bastion-ssh"
  description = "SSH to the bastion"
  vpc_id      = "vpc-0123456789abcdef0"

  ingress {
    description = "SSH"
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }

  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
