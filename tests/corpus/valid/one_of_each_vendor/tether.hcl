account "aws" "prod" {
  main_account_id   = "123456789012"
  account_name      = "Production"
  access_key_id     = "AKIAEXAMPLE"
  secret_access_key = file("s.age")
}

account "alibaba" "cn" {
  main_account_id   = "1234567890123456"
  account_name      = "CN"
  access_key_id     = "LTAIEXAMPLE"
  secret_access_key = file("s.age")
}

account "azure" "corp" {
  tenant_id          = "00000000-0000-0000-0000-000000000000"
  tenant_name        = "contoso"
  application_id     = "11111111-1111-1111-1111-111111111111"
  application_secret = file("s.age")
}

account "hcs" "dc1" {
  endpoint         = "hcs.example.com"
  environment_name = "dc1"
  account          = "ops-admin"
  password         = file("s.age")
}
