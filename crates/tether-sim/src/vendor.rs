//! The four vendors the simulator stands in for.
//!
//! The simulator's own type, not tether's: the two meet only on the wire,
//! where a vendor is its lowercase name (`aws`, `alibaba`, `azure`, `hcs`) in
//! the admin API, world files, the start-up line and the config it writes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A simulated vendor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Vendor {
    Aws,
    Alibaba,
    Azure,
    Hcs,
}

impl Vendor {
    pub const ALL: [Vendor; 4] = [Vendor::Aws, Vendor::Alibaba, Vendor::Azure, Vendor::Hcs];

    /// The wire name: `aws`, `alibaba`, `azure`, `hcs`.
    pub fn as_str(self) -> &'static str {
        match self {
            Vendor::Aws => "aws",
            Vendor::Alibaba => "alibaba",
            Vendor::Azure => "azure",
            Vendor::Hcs => "hcs",
        }
    }
}

impl fmt::Display for Vendor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Vendor {
    type Err = ();
    fn from_str(s: &str) -> Result<Vendor, ()> {
        Vendor::ALL.into_iter().find(|v| v.as_str() == s).ok_or(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip() {
        for v in Vendor::ALL {
            assert_eq!(v.as_str().parse::<Vendor>(), Ok(v));
            assert_eq!(serde_json::to_string(&v).unwrap(), format!("\"{v}\""));
        }
        assert_eq!("AWS".parse::<Vendor>(), Err(()));
    }
}
