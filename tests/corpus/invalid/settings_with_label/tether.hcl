tether "main" {
  parallelism = 4
}
