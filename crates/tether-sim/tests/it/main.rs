//! The simulator's one integration-test binary: each vendor as its own
//! clients see it (the AWS SDK, signed HTTP), the admin API and library
//! calls, the `tether-sim` binary, and the published signature vectors.

mod admin;
mod alibaba;
mod aws;
mod azure;
mod harness;
mod hcs;
mod org;
mod rd;
mod tenancy;
mod vectors;
