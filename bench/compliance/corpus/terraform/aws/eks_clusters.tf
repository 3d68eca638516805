# Two EKS clusters: the first platform cluster with the defaults (public API open to all,
# no secrets encryption, no control plane logs), and the payments cluster built private.
resource "aws_eks_cluster" "platform" {
  name     = "platform"
  role_arn = "arn:aws:iam::123456789012:role/eks-platform"

  vpc_config {
    subnet_ids = ["subnet-0a1b2c3d4e5f60718", "subnet-0a1b2c3d4e5f60719"]
  }
}

resource "aws_eks_cluster" "payments" {
  name                      = "payments"
  role_arn                  = "arn:aws:iam::123456789012:role/eks-payments"
  enabled_cluster_log_types = ["api", "audit", "authenticator", "controllerManager", "scheduler"]

  vpc_config {
    subnet_ids              = ["subnet-0a1b2c3d4e5f60720", "subnet-0a1b2c3d4e5f60721"]
    endpoint_private_access = true
    endpoint_public_access  = false
  }

  encryption_config {
    resources = ["secrets"]
    provider {
      key_arn = "arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-1111-2222-3333-444455556666"
    }
  }
}
