account "azure" "corp" {
  tenant_id          = "00000000-0000-0000-0000-000000000000"
  tenant_name        = "contoso"
  application_id     = "11111111-1111-1111-1111-111111111111"
  application_secret = file("s.age")
  regions = ["east-us"]
}
