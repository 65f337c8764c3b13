# Huawei Cloud Stack: two on-premises data centres.

account "hcs" "dc1" {
  endpoint         = "hcs-dc1.example.internal"
  environment_name = "dc1"
  account          = "ops-admin"
  password         = file("secrets/hcs-dc1.age")
  regions          = ["dc1-region-1"]
  tags             = { team = "datacentre", site = "frankfurt" }
}

account "hcs" "dc2" {
  endpoint         = "10.20.0.10"
  environment_name = "dc2"
  account          = "ops-admin"
  password         = file("secrets/hcs-dc2.age")
  # A private API gateway in front of every HCS service.
  api_endpoint = "https://hcs-api.dc2.example.internal"
  depends_on   = [hcs.dc1, aws.shared]
  tags         = { team = "datacentre", site = "amsterdam" }
}
