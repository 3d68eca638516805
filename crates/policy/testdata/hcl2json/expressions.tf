locals {
  a = "(${var.x})"
  b = "x-${1}-${true}-${null}-${"s"}"
  c = "%{ for k, v in var.m }${k}=${v},%{ endfor }"
  d = "%{ if var.on }yes%{ else }no%{ endif }"
  e = "%{ if var.on }yes%{ endif }"
  f = "a ${~ var.x ~} b"
  g = merge(
    {},
    var.x)
  h = [for s in var.l : upper(s)]
  i = var.l[*].id
  j = var.l[0]
  k = -var.x
  l = -(1 + 4)
  m = "a\nb\t\"q\""
  n = "%%{x}"
  o = { "q-k" = 1, k = var.v, nested = { x = [1, 2] } }
  p = 1.50
  q = 1e3
  r = <<EOT
plain $${x}
EOT
  s = "${var.a}${var.b}"
  t = upper("x")
  u = true ? 1 : 2
  v = {}
  w = []
  x = "${"a"}b"
}
resource "a" "b" {
  dynamic "setting" {
    for_each = var.s
    content {
      name = setting.value
    }
  }
  lifecycle {
    ignore_changes = [tags]
  }
  count = 2
}
