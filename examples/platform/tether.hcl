# A platform team's accounts across four vendors.
# Secrets are age-encrypted to the team's recipients; the example ciphertexts
# here decrypt with no key anyone holds.

tether {
  recipients = [
    "age1ffmrf7rx52nyu0fxdeqwnw3f0z0nppudmk57ye82k6hkvfhp8gwq5vv9ap", # platform team (age)
  ]
  state       = "tether.state.json"
  snapshots   = ".tether/snapshots"
  parallelism = 10
}
