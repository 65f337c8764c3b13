tether {
  parallelism = 2.5
}
