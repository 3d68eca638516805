# The storefront's load balancers as first built: plain HTTP, the provider's default TLS
# policy, no access logs, and a classic ELB kept for an old partner integration.
resource "aws_lb" "storefront" {
  name               = "storefront"
  load_balancer_type = "application"
  subnets            = ["subnet-0a1b2c3d4e5f60718", "subnet-0a1b2c3d4e5f60719"]
  security_groups    = ["sg-0a1b2c3d4e5f60718"]
}

resource "aws_lb_listener" "storefront_http" {
  load_balancer_arn = aws_lb.storefront.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type             = "forward"
    target_group_arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/storefront/0123456789abcdef"
  }
}

resource "aws_lb_listener" "storefront_https" {
  load_balancer_arn = aws_lb.storefront.arn
  port              = 443
  protocol          = "HTTPS"
  certificate_arn   = "arn:aws:acm:eu-west-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"

  default_action {
    type             = "forward"
    target_group_arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/storefront/0123456789abcdef"
  }
}

resource "aws_elb" "legacy_partner" {
  name               = "legacy-partner"
  availability_zones = ["eu-west-1a", "eu-west-1b"]

  listener {
    lb_port           = 80
    lb_protocol       = "http"
    instance_port     = 8080
    instance_protocol = "http"
  }
}
