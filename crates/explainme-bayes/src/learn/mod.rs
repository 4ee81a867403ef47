//! Learning from categorical records: parameters for a given structure ([`Parameters`]),
//! structure by score search ([`HillClimb`]) or by independence tests ([`Pc`]), all under clinical knowledge given as
//! [`Constraints`].

mod constraints;
mod hill_climb;
mod params;
mod pc;

pub use constraints::Constraints;
pub use hill_climb::{HillClimb, HillClimbParams};
pub use params::{Parameters, ParametersParams, Prior};
pub use pc::{CiTest, Pc, PcParams, PcResult};
