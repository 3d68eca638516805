# Cluster nodes: talk to each other on every port, and (by mistake) SSH from anywhere.
resource "aws_security_group" "cluster_nodes" {
  name        = "cluster-nodes"
  description = "cluster nodes"
  vpc_id      = "vpc-0123456789abcdef0"

  ingress {
    description = "node to node"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    self        = true
  }

  ingress {
    description = "SSH"
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
