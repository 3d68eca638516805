# The provider for the replica region: credentials come from the environment.
provider "aws" {
  alias  = "replica"
  region = "eu-central-1"
}
