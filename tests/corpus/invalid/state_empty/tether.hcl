tether {
  state = ""
}
