tether {
  recipients = "age1ffmrf7rx52nyu0fxdeqwnw3f0z0nppudmk57ye82k6hkvfhp8gwq5vv9ap"
}
