tether {}
