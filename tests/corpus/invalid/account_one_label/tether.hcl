account "aws" {
  account_name = "x"
}
