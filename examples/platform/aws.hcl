# AWS: one organization, four member accounts.

account "aws" "shared" {
  main_account_id   = "111111111111"
  account_name      = "Shared services"
  access_key_id     = "AKIAEXAMPLESHARED01"
  secret_access_key = file("secrets/aws-shared.age")
  regions           = ["us-east-1", "eu-west-1"]
  tags = {
    team            = "platform"
    owner           = "platform@example.com"
    business_entity = "corp"
  }
}

account "aws" "prod" {
  main_account_id   = "222222222222"
  account_name      = "Production"
  access_key_id     = "AKIAEXAMPLEPROD0001"
  secret_access_key = file("secrets/aws-prod.age")
  regions           = ["us-east-1", "us-west-2", "eu-west-1"]
  depends_on        = [aws.shared]
  tags = {
    team            = "payments"
    owner           = "payments-oncall@example.com"
    business_entity = "corp"
  }
}

account "aws" "staging" {
  main_account_id   = "333333333333"
  account_name      = "Staging"
  access_key_id     = "AKIAEXAMPLESTAGING1"
  secret_access_key = file("secrets/aws-staging.age")
  regions           = ["us-east-1"]
  depends_on        = [aws.shared]
  tags              = { team = "payments", business_entity = "corp" }
}

# Every region the account can see: no `regions` list.
account "aws" "sandbox" {
  main_account_id   = "444444444444"
  account_name      = "Sandbox"
  access_key_id     = "AKIAEXAMPLESANDBOX1"
  secret_access_key = file("secrets/aws-sandbox.age")
  resource_types    = ["instance", "vpc"]
  tags              = { team = "developer-experience" }
}
