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

account "aws" "payments" {
  main_account_id = "210987654321"
  account_name    = "Payments"
  via             = aws.prod
  regions         = ["eu-west-1"]
}

account "alibaba" "cn_team" {
  main_account_id = "1234567890123457"
  account_name    = "CN team"
  via             = alibaba.cn
  role_name       = "ResourceDirectoryAccountAccessRole"
}

account "azure" "sub_payments" {
  via             = azure.corp
  subscription_id = "5F0C4C39-8F0E-4A55-9F8C-0D6C5C0C1A2B"
}

account "hcs" "proj_payments" {
  via        = hcs.dc1
  project_id = "9b3f0c2e1d4a4b6c8e0f1a2b3c4d5e6f"
  tags = {
    team = "payments"
  }
}
