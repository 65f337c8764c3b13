account "aws" "prod" {
  main_account_id   = "123456789012"
  account_name      = "Production"
  access_key_id     = "AKIAEXAMPLE"
  secret_access_key = file("s.age")
}

account "alibaba" "cn" {
  main_account_id = "1234567890123456"
  account_name    = "CN"
  via             = aws.prod
}

account "aws" "payments" {
  main_account_id = "210987654321"
  account_name    = "Payments"
  via             = aws.prod
}

account "aws" "payments_dev" {
  main_account_id = "210987654322"
  account_name    = "Payments dev"
  via             = aws.payments
}
