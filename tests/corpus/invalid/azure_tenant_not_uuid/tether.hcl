account "azure" "corp" {
  tenant_id          = "contoso.onmicrosoft.com"
  tenant_name        = "contoso"
  application_id     = "11111111-1111-1111-1111-111111111111"
  application_secret = file("s.age")
}
