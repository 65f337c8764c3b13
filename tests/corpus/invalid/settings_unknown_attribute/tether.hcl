tether {
  paralelism = 4
}
