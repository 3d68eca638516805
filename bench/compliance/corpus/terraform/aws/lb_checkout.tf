# The checkout load balancer after its review: HTTP only redirects, TLS 1.2+, access logs,
# invalid headers dropped, deletion protection; and an HTTPS classic ELB with logs.
resource "aws_lb" "checkout" {
  name                       = "checkout"
  load_balancer_type         = "application"
  subnets                    = ["subnet-0a1b2c3d4e5f60718", "subnet-0a1b2c3d4e5f60719"]
  security_groups            = ["sg-0a1b2c3d4e5f60718"]
  drop_invalid_header_fields = true
  enable_deletion_protection = true

  access_logs {
    bucket  = "acme-audit-logs"
    prefix  = "alb/checkout"
    enabled = true
  }
}

resource "aws_lb_listener" "checkout_redirect" {
  load_balancer_arn = aws_lb.checkout.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = "redirect"

    redirect {
      port        = "443"
      protocol    = "HTTPS"
      status_code = "HTTP_301"
    }
  }
}

resource "aws_lb_listener" "checkout_https" {
  load_balancer_arn = aws_lb.checkout.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = "arn:aws:acm:eu-west-1:123456789012:certificate/66666666-7777-8888-9999-000000000000"

  default_action {
    type             = "forward"
    target_group_arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/checkout/0123456789abcdef"
  }
}

resource "aws_elb" "partner_api" {
  name               = "partner-api"
  availability_zones = ["eu-west-1a", "eu-west-1b"]

  listener {
    lb_port            = 443
    lb_protocol        = "https"
    instance_port      = 8443
    instance_protocol  = "https"
    ssl_certificate_id = "arn:aws:acm:eu-west-1:123456789012:certificate/66666666-7777-8888-9999-000000000000"
  }

  access_logs {
    bucket   = "acme-audit-logs"
    interval = 60
  }
}
