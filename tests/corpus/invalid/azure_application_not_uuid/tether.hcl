account "azure" "corp" {
  tenant_id          = "00000000-0000-0000-0000-000000000000"
  tenant_name        = "contoso"
  application_id     = "1111-2222"
  application_secret = file("s.age")
}
