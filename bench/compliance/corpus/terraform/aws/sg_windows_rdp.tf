# RDP to the Windows build agents, as a separate rule resource.
resource "aws_security_group" "windows_agents" {
  name        = "windows-agents"
  description = "Windows build agents"
  vpc_id      = "vpc-0123456789abcdef0"
}

resource "aws_security_group_rule" "windows_rdp" {
  type              = "ingress"
  description       = "RDP"
  from_port         = 3389
  to_port           = 3389
  protocol          = "tcp"
  cidr_blocks       = ["0.0.0.0/0"]
  security_group_id = aws_security_group.windows_agents.id
}

resource "aws_security_group_rule" "windows_winrm_office" {
  type              = "ingress"
  description       = "WinRM from the office"
  from_port         = 5986
  to_port           = 5986
  protocol          = "tcp"
  cidr_blocks       = ["203.0.113.0/24"]
  security_group_id = aws_security_group.windows_agents.id
}
