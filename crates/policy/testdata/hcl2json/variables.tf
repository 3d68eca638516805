# comment only
variable "env" {
  type    = string
  default = "dev"
}
variable "list" {
  type = list(object({ a = string }))
}
