account "aws" "prod" {
  account_name = "café"
}
