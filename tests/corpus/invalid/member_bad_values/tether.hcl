account "azure" "corp" {
  tenant_id          = "00000000-0000-0000-0000-000000000000"
  tenant_name        = "contoso"
  application_id     = "11111111-1111-1111-1111-111111111111"
  application_secret = file("s.age")
}

account "azure" "sub" {
  via             = azure.corp
  subscription_id = "not-a-uuid"
}

account "azure" "sub2" {
  via = azure.corp
}

account "aws" "prod" {
  main_account_id   = "123456789012"
  account_name      = "Production"
  access_key_id     = "AKIAEXAMPLE"
  secret_access_key = file("s.age")
}

account "aws" "payments" {
  main_account_id = "210987654321"
  account_name    = "Payments"
  via             = aws.prod
  role_name       = "Org Access/Role"
}

account "aws" "self" {
  main_account_id = "210987654329"
  account_name    = "Self"
  via             = aws.self
}
