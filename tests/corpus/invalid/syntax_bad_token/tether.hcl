account "aws" "prod" {
  main_account_id = = "1"
}
