tether {
  parallelism = "ten"
}
