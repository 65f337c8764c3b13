# head
// slash
/* block */
account "aws" "prod" {
  main_account_id   = "123456789012"
  account_name      = "Production"
  access_key_id     = "AKIAEXAMPLE"
  secret_access_key = file("s.age")
  # inside
  regions = [
    "us-east-1", # trailing
    # leading
    "eu-west-1",
  ]
}
