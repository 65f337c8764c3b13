# Azure: one tenant per business entity.

account "azure" "corp" {
  tenant_id          = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b"
  tenant_name        = "contoso"
  application_id     = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
  application_secret = file("secrets/azure-corp.age")
  regions            = ["westeurope", "northeurope"]
  tags               = { team = "platform", business_entity = "corp" }
}

account "azure" "data" {
  tenant_id          = "7a8b9c0d-1e2f-4a3b-9c4d-5e6f7a8b9c0d"
  tenant_name        = "contoso-data"
  application_id     = "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e"
  application_secret = file("secrets/azure-data.age")
  depends_on         = [azure.corp]
  tags               = { team = "data", business_entity = "corp" }
}
